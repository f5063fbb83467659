"""Conversions between stored messages and deliveries and their protos."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from google.protobuf import json_format, struct_pb2

from envoy_grpc import errors
from envoy_grpc.core.messaging import Outgoing
from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2
from envoy_grpc.services.convert import timestamp
from envoy_grpc.store.messages import DeliveryView, StoredMessage

TYPES = {
    "direct": messages_pb2.MESSAGE_TYPE_DIRECT,
    "handoff": messages_pb2.MESSAGE_TYPE_HANDOFF,
    "heartbeat": messages_pb2.MESSAGE_TYPE_HEARTBEAT,
    "system": messages_pb2.MESSAGE_TYPE_SYSTEM,
    "broadcast": messages_pb2.MESSAGE_TYPE_BROADCAST,
    "topic": messages_pb2.MESSAGE_TYPE_TOPIC,
}
TYPE_NAMES = {value: name for name, value in TYPES.items()}
STATES = {
    "stored": messages_pb2.DELIVERY_STATE_STORED,
    "delivered": messages_pb2.DELIVERY_STATE_DELIVERED,
    "surfaced": messages_pb2.DELIVERY_STATE_SURFACED,
    "acked": messages_pb2.DELIVERY_STATE_ACKED,
    "expired": messages_pb2.DELIVERY_STATE_EXPIRED,
    "dead_lettered": messages_pb2.DELIVERY_STATE_DEAD_LETTERED,
    "terminated": messages_pb2.DELIVERY_STATE_TERMINATED,
}


def part_to_dict(part: common_pb2.Part, prefix: str, index: int) -> dict[str, Any]:
    """One part as stored; `{prefix}parts[{index}]` names it in the error (built only then: a batch
    converts thousands of parts)."""
    kind = part.WhichOneof("content")
    if kind == "text":
        return {"text": part.text}
    if kind == "url":
        return {"url": part.url}
    if kind == "data":
        return {"data": plain_json(json_format.MessageToDict(part.data))}
    raise errors.invalid_argument(
        f"{prefix}parts[{index}]", "must have one of text, data or url", reason="INVALID_MESSAGE"
    )


def plain_json(value: Any) -> Any:
    """JSON from a google.protobuf.Value with whole numbers as integers (Value stores every number as a double)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    return value


def outgoing(request: messages_pb2.SendMessageRequest, prefix: str = "") -> Outgoing:
    return Outgoing(
        type=TYPE_NAMES.get(request.type, ""),
        sender=getattr(request, "from"),
        to=request.to,
        topic=request.topic,
        task_id=request.task_id if request.HasField("task_id") else None,
        context_id=request.context_id if request.HasField("context_id") else None,
        parts=[part_to_dict(p, prefix, i) for i, p in enumerate(request.parts)],
        idempotency_key=request.idempotency_key,
        ttl_seconds=request.ttl_seconds,
        require_ack=request.require_ack,
        urgent=request.urgent,
    )


def _part(raw: dict[str, Any]) -> common_pb2.Part:
    ((kind, value),) = raw.items()
    if kind == "data":
        data = struct_pb2.Value()
        json_format.ParseDict(value, data)
        return common_pb2.Part(data=data)
    return common_pb2.Part(**{kind: value})


# A broadcast converts one message for many recipients within moments, so a small cache does it;
# large messages are not cached at all, so the cache never holds much memory.
_CACHED_BYTES = 16 * 1024


def _base(message: StoredMessage) -> messages_pb2.Message:
    """The part of a message's proto every recipient shares."""
    if len(message.parts_json) > _CACHED_BYTES:
        return _build(message)
    return _cached(message)


@lru_cache(maxsize=128)
def _cached(message: StoredMessage) -> messages_pb2.Message:
    return _build(message)


def _build(message: StoredMessage, parts: Iterable[common_pb2.Part] | None = None) -> messages_pb2.Message:
    proto = messages_pb2.Message(
        message_id=str(message.message_id),
        type=TYPES[message.type],
        to=message.to,
        topic=message.topic,
        parts=parts if parts is not None else [_part(p) for p in json.loads(message.parts_json)],
        timestamp=timestamp(message.created_at),
        idempotency_key=message.idempotency_key or "",
        require_ack=message.require_ack,
        urgent=message.urgent,
        delivery_state=messages_pb2.DELIVERY_STATE_STORED,
    )
    setattr(proto, "from", message.sender)
    if message.type in ("broadcast", "topic"):
        proto.recipients.extend(message.recipients)
    if message.task_id is not None:
        proto.task_id = message.task_id
    if message.context_id is not None:
        proto.context_id = message.context_id
    if message.expires_at is not None:
        proto.expires_at.CopyFrom(timestamp(message.expires_at))
    return proto


def message(stored: StoredMessage, parts: Iterable[common_pb2.Part] | None = None) -> messages_pb2.Message:
    """The message as its sender sees it (`parts`: the request's, when it was just sent)."""
    if parts is not None:
        return _build(stored, parts)
    proto = messages_pb2.Message()
    proto.CopyFrom(_base(stored))
    return proto


def delivered(delivery: DeliveryView) -> messages_pb2.Message:
    """The message as its recipient sees it, with its sequence and this attempt's number."""
    proto = message(delivery.message)
    proto.sequence_id = delivery.sequence
    proto.delivery_attempt = delivery.delivery_count + 1
    # Handing it over is delivering it: a stored delivery is delivered by this very response.
    proto.delivery_state = STATES["delivered" if delivery.state == "stored" else delivery.state]
    return proto


def delivery(view: DeliveryView) -> messages_pb2.Delivery:
    proto = messages_pb2.Delivery(
        message_id=str(view.message.message_id),
        agent_id=view.agent_id,
        sequence_id=view.sequence,
        state=STATES[view.state],
        delivery_count=view.delivery_count,
    )
    for name in ("first_delivered_at", "last_delivered_at", "surfaced_at", "acked_at", "next_attempt_at"):
        value = getattr(view, name)
        if value is not None:
            getattr(proto, name).CopyFrom(timestamp(value))
    return proto
