"""What the proto says about each method, read once from the descriptors: who may call it, which
request fields are required, and the HTTP success code. The server and the gateway both use this."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from google.api import field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message

from envoy_grpc import errors
from envoy_grpc.core.auth import Policy
from envoy_grpc.gen.envoy.v1 import (
    agents_pb2,
    code_pb2,
    dependencies_pb2,
    graph_pb2,
    hooks_pb2,
    knowledge_pb2,
    leases_pb2,
    messages_pb2,
    options_pb2,
    sessions_pb2,
    system_pb2,
    tasks_pb2,
)
from envoy_grpc.types import FieldDescriptor, MessageDescriptor

FILES = (
    agents_pb2,
    messages_pb2,
    sessions_pb2,
    knowledge_pb2,
    graph_pb2,
    code_pb2,
    hooks_pb2,
    system_pb2,
    leases_pb2,
    tasks_pb2,
    dependencies_pb2,
)

_AUTH_POLICIES: dict[int, Policy] = {
    options_pb2.AUTH_POLICY_UNSPECIFIED: "agent",
    options_pb2.AUTH_POLICY_PUBLIC: "public",
    options_pb2.AUTH_POLICY_OPERATOR: "operator",
}


def services() -> Iterator[_descriptor.ServiceDescriptor]:
    for module in FILES:
        yield from module.DESCRIPTOR.services_by_name.values()


@dataclass(frozen=True)
class MethodInfo:
    """One RPC as the proto declares it."""

    descriptor: _descriptor.MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"

    @property
    def auth(self) -> Policy:
        return _AUTH_POLICIES[self.descriptor.GetOptions().Extensions[options_pb2.auth]]

    @property
    def http_success_code(self) -> int:
        return self.descriptor.GetOptions().Extensions[options_pb2.http_success_code] or 200


def method_table() -> dict[str, MethodInfo]:
    """Every envoy.v1 method by its gRPC path (`/envoy.v1.AgentService/GetAgent`)."""
    table = {}
    for service in services():
        for method in service.methods:
            info = MethodInfo(method)
            table[info.path] = info
    return table


def _is_required(field: FieldDescriptor) -> bool:
    behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.REQUIRED in behaviors


def _is_missing(message: _message.Message, field: FieldDescriptor) -> bool:
    if field.is_repeated:
        return len(getattr(message, field.name)) == 0
    if field.has_presence:
        return not message.HasField(field.name)
    value = getattr(message, field.name)
    if isinstance(value, str):
        return not value.strip()
    return not value


@dataclass(frozen=True)
class _Shape:
    """What validation needs to know about a message type, computed once per type."""

    required: tuple[FieldDescriptor, ...]
    # Message-typed fields of our own (not well-known types, not maps) that may hold required fields.
    nested: tuple[FieldDescriptor, ...]


def _may_nest(field: FieldDescriptor) -> bool:
    return (
        field.message_type is not None
        and not field.message_type.GetOptions().map_entry
        and not field.message_type.full_name.startswith("google.protobuf.")
    )


@functools.cache
def _can_miss(descriptor: MessageDescriptor, visiting: frozenset[str] = frozenset()) -> bool:
    """Whether a message of this type can lack a REQUIRED field, here or at any depth."""
    if any(_is_required(field) for field in descriptor.fields):
        return True
    inner = visiting | {descriptor.full_name}
    nested = [field.message_type for field in descriptor.fields if _may_nest(field)]
    return any(_can_miss(kind, inner) for kind in nested if kind is not None and kind.full_name not in inner)


@functools.cache
def _shape(descriptor: MessageDescriptor) -> _Shape:
    # Only nested types that can lack something are walked: a message's parts, say, never are.
    nested = tuple(field for field in descriptor.fields if _may_nest(field) and _can_miss(field.message_type))
    return _Shape(tuple(f for f in descriptor.fields if _is_required(f)), nested)


def missing_required(message: _message.Message, prefix: str = "") -> list[str]:
    """Dotted paths of REQUIRED fields that are not set, here and in nested messages that are."""
    shape = _shape(message.DESCRIPTOR)
    missing = [f"{prefix}{field.name}" for field in shape.required if _is_missing(message, field)]
    for field in shape.nested:
        path = f"{prefix}{field.name}"
        if field.is_repeated:
            for index, item in enumerate(getattr(message, field.name)):
                missing.extend(missing_required(item, f"{path}[{index}]."))
        elif message.HasField(field.name) and path not in missing:
            missing.extend(missing_required(getattr(message, field.name), f"{path}."))
    return missing


def check_required(message: _message.Message) -> None:
    """Raise INVALID_ARGUMENT (FIELD_REQUIRED) naming every required field that is missing."""
    missing = missing_required(message)
    if missing:
        raise errors.missing_fields(missing)
