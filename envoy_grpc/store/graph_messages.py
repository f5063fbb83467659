"""Messages into the knowledge graph in set-based SQL: the projector's busiest source.

A Message entity and its `created` / `assigned_to` edges are written for a whole batch of messages by
three `INSERT ... SELECT` statements that read the `message` table directly, so no message is
turned into Python objects and back. What each entity holds is the same as
`envoy_grpc.core.graph_mapping` documents: the message's ID, type, sender, `to`, topic, task and
context IDs (unset ones left out) and its first text part, clipped like every projected text.
The Agent entities of senders and recipients must exist first (the projection creates them).
Runs on the writer thread inside the projector's transaction.
"""

from __future__ import annotations

import json

from envoy_grpc.store import graph

TEXT_LIMIT = 500

# The message's recipients: its recipient list, else its `to` (a message to nobody has none).
_RECIPIENTS = (
    "json_each(CASE WHEN m.recipients_json <> '[]' THEN m.recipients_json "
    "WHEN m.to_agent <> '' THEN json_array(m.to_agent) ELSE '[]' END)"
)
_FIRST_TEXT = (
    "COALESCE((SELECT json_extract(part.value, '$.text') FROM json_each(m.parts_json) AS part "
    "WHERE json_type(part.value, '$.text') = 'text' ORDER BY part.key LIMIT 1), '')"
)
# INSERT first (the WITH inside it): Python's sqlite3 reports a rowcount only for statements that
# start with INSERT, UPDATE, DELETE or REPLACE.
_ENTITIES = f"""
INSERT INTO graph_entity (kind, name, project, file_path, data_json, created_at, updated_at)
WITH picked AS (
    SELECT m.id, m.type, m.sender, m.to_agent, m.topic, m.task_id, m.context_id, m.created_at,
        {_FIRST_TEXT} AS text
    FROM json_each(?1) AS wanted JOIN message AS m ON m.id = wanted.value
)
SELECT 'Message', CAST(id AS TEXT), '', NULL, json_patch('{{}}', json_object(
        'message_id', id, 'type', type, 'sender', sender, 'to', NULLIF(to_agent, ''),
        'topic', NULLIF(topic, ''), 'task_id', task_id, 'context_id', context_id,
        'text', CASE WHEN length(text) > {TEXT_LIMIT} THEN substr(text, 1, {TEXT_LIMIT - 1}) || '…'
                     ELSE text END)),
    created_at, created_at
FROM picked
WHERE true
ON CONFLICT (kind, name, project) DO NOTHING
"""


def _edges(label: str, ends: str, agent_join: str) -> str:
    """An `INSERT … SELECT` of one label's edges between each wanted message (`e`) and the Agent
    entities `agent_join` finds (`a`); `ends` says which way the edge goes."""
    return f"""
INSERT INTO graph_edge (from_id, to_id, label, data_json, created_at)
SELECT {ends}, '{label}', '{{}}', m.created_at
FROM json_each(?1) AS wanted
JOIN message AS m ON m.id = wanted.value
JOIN graph_entity AS e ON e.kind = 'Message' AND e.name = CAST(m.id AS TEXT) AND e.project = ''
{agent_join}
WHERE true
ON CONFLICT DO NOTHING
"""


_AGENT = "JOIN graph_entity AS a ON a.kind = 'Agent' AND a.project = '' AND a.name = "
_CREATED = _edges("created", "a.id, e.id", _AGENT + "m.sender")
_ASSIGNED = _edges("assigned_to", "e.id, a.id", f"JOIN {_RECIPIENTS} AS r\n" + _AGENT + "r.value")


def recipients(recipients_json: str, to: str) -> list[str]:
    """The agents a message was for, as `_RECIPIENTS` reads them in SQL."""
    found: list[str] = json.loads(recipients_json)
    return found or ([to] if to else [])


def project(message_ids: list[int]) -> tuple[int, int]:
    """Write the Message entities of these messages and their `created` and `assigned_to` edges;
    returns (entities created, edges created). Existing ones are left as they are."""
    wanted = json.dumps(message_ids)
    cur = graph.cursor()
    entities = max(int(cur.execute(_ENTITIES, (wanted,)).rowcount), 0)
    created = max(int(cur.execute(_CREATED, (wanted,)).rowcount), 0)
    assigned = max(int(cur.execute(_ASSIGNED, (wanted,)).rowcount), 0)
    graph.count_inserted("kind", "Message", entities)
    graph.count_inserted("label", "created", created)
    graph.count_inserted("label", "assigned_to", assigned)
    return entities, created + assigned
