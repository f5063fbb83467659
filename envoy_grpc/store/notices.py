"""Direct `system` messages from the server to one agent (a reclaimed task, a resolved dependency).

Like `project_events.announce`, this writes the message and its delivery in the caller's transaction
and returns the delivery to publish after COMMIT; the sender need not be an agent (`envoy` is the
server itself). A retired or unknown recipient gets nothing: nobody would ever read it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envoy_grpc.store.messages import DeliveryView, StoredMessage
from envoy_grpc.store.sessions import cursor, dumps

SERVER = "envoy"

_INSERT_MESSAGE = (
    "INSERT INTO message (type, sender, to_agent, topic, parts_json, created_at, body_hash, recipients_json) "
    "VALUES ('system', ?, ?, '', ?, ?, ?, ?)"
)
_NEXT_SEQUENCE = (
    "UPDATE agent SET last_sequence = last_sequence + 1 WHERE agent_id = ? AND lifecycle = 'active' "
    "RETURNING last_sequence"
)
_INSERT_DELIVERY = "INSERT INTO delivery (message_id, agent_id, sequence, state) VALUES (?, ?, ?, 'stored')"


def notice_parts(text: str, kind: str, **data: Any) -> list[dict[str, Any]]:
    """A text line for people and a data part `{"kind": ..., ...}` for programs."""
    return [{"text": text}, {"data": {"kind": kind, **data}}]


def send(agent_id: str, parts: list[dict[str, Any]], now: float, sender: str = SERVER) -> list[DeliveryView]:
    """Store a system message to `agent_id`; return its delivery (none for a retired agent)."""
    cur = cursor()
    sequence = cur.execute(_NEXT_SEQUENCE, (agent_id,)).fetchone()
    if sequence is None:
        return []
    parts_json = dumps(parts)
    body_hash = hashlib.sha256(parts_json.encode()).hexdigest()
    cur.execute(_INSERT_MESSAGE, (sender, agent_id, parts_json, now, body_hash, json.dumps([agent_id])))
    message = StoredMessage(
        message_id=int(cur.lastrowid),
        type="system",
        sender=sender,
        to=agent_id,
        topic="",
        task_id=None,
        context_id=None,
        parts_json=parts_json,
        created_at=now,
        expires_at=None,
        idempotency_key=None,
        require_ack=False,
        urgent=False,
        recipients=(agent_id,),
    )
    cur.execute(_INSERT_DELIVERY, (message.message_id, agent_id, int(sequence[0])))
    return [DeliveryView(message, agent_id, int(sequence[0]), "stored", 0)]
