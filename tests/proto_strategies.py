"""Hypothesis strategies for any protobuf message, built from its descriptor (for the gRPC fuzzer).

Values are drawn across each field type's whole range (int64 extremes, unknown enum numbers, any
unicode text, NaN and infinities), fields are left unset about half the time, nesting stops at a
fixed depth, and `google.protobuf.Struct`/`Value` get JSON-like values.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor, message, message_factory, struct_pb2
from hypothesis import strategies as st

FD = descriptor.FieldDescriptor
MAX_DEPTH = 3
INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
# Text that looks like what the API expects often enough to get past the first validation.
PLAUSIBLE = st.sampled_from(
    ["id1", "id2", "id1.1", "1", "0", "envoy", "ci.>", "src/a.py", "*", "..", "/etc/passwd"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def scalar(field: descriptor.FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
        return st.integers(low, high) | st.sampled_from([low, high, 0, -1 if low < 0 else 1, 2**31 - 1])
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(width=32 if field.type == FD.TYPE_FLOAT else 64)
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_STRING:
        return PLAUSIBLE | st.text(max_size=40) | st.text(min_size=300, max_size=2000)
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FD.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.sampled_from(known) | st.integers(-5, 1000)
    raise TypeError(f"unhandled field type {field.type} of {field.full_name}")


def for_message(desc: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[message.Message]:
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Struct":
        return st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4).map(_struct)
    if desc.full_name == "google.protobuf.Value":
        return JSON_VALUES.map(_value)
    fields = {
        field.name: st.none() | _field(field, depth)
        for field in desc.fields
        if depth < MAX_DEPTH or not _is_message(field)
    }
    return st.fixed_dictionaries(fields).map(lambda values: _build(cls, values))


def _is_message(field: descriptor.FieldDescriptor) -> bool:
    return field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)


def _field(field: descriptor.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        value_strategy = for_message(value.message_type, depth + 1) if _is_message(value) else scalar(value)
        return st.dictionaries(scalar(key), value_strategy, max_size=3).map(lambda d: ("map", d))
    single = for_message(field.message_type, depth + 1) if _is_message(field) else scalar(field)
    if field.is_repeated:
        return st.lists(single, max_size=4).map(lambda items: ("list", items))
    return single.map(lambda item: ("one", item))


def _build(cls: type[message.Message], values: dict[str, Any]) -> message.Message:
    built = cls()
    for name, drawn in values.items():
        if drawn is None:
            continue
        kind, value = drawn
        target = getattr(built, name) if kind != "one" else None
        if kind == "map":
            for key, item in value.items():
                if isinstance(item, message.Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif kind == "list":
            for item in value:
                if isinstance(item, message.Message):
                    target.add().CopyFrom(item)
                else:
                    target.append(item)
        elif isinstance(value, message.Message):
            getattr(built, name).CopyFrom(value)
        else:
            setattr(built, name, value)
    return built


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    built = struct_pb2.Struct()
    built.update(values)
    return built


def _value(value: Any) -> struct_pb2.Value:
    holder = struct_pb2.Struct()
    holder.update({"v": value})
    return holder.fields["v"]
