"""JSON ⇄ protobuf with the original envoy's conventions, driven entirely by the descriptors.

Input: keys are proto field names (lowerCamel JSON names and `envoy.v1.json_alias` names are also
accepted), unknown keys are ignored, `null` means unset, enums are the lowercase value names
without their type prefix (`"working"` for AGENT_STATE_WORKING), and a value of the wrong type is a
`FieldTypeError` naming the field and the expected type.

Output: keys are proto field names, fields without presence print their zero value, fields with
presence print `null` when unset (members of a oneof are left out instead), 64-bit integers are JSON
numbers, enums are lowercase names, and Timestamps are RFC 3339 strings.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from functools import cache
from typing import Any

from google.protobuf import descriptor as _descriptor
from google.protobuf import json_format
from google.protobuf import message as _message

from envoy_grpc.gen.envoy.v1 import options_pb2
from envoy_grpc.types import EnumDescriptor, FieldDescriptor, MessageDescriptor

FD = _descriptor.FieldDescriptor
_INT_TYPES = {FD.CPPTYPE_INT32, FD.CPPTYPE_INT64, FD.CPPTYPE_UINT32, FD.CPPTYPE_UINT64}
_JSON_PASSTHROUGH = {
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Any",
    "google.protobuf.Empty",
}
_WRAPPERS_PREFIX = "google.protobuf."


class FieldTypeError(ValueError):
    """A JSON value does not fit its field; `path` is the dotted field path."""

    def __init__(self, path: str, expected: str, got: Any) -> None:
        self.path = path
        self.expected = expected
        super().__init__(f"{path}: expected {expected}, got {_describe(got)}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    return "an object"


# -- enums -----------------------------------------------------------------------------------


def _upper_snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.upper())
    return "".join(out)


@cache
def enum_wire_names(enum: EnumDescriptor) -> dict[int, str]:
    """Value number → wire name: `CIRCUIT_STATE_HALF_OPEN` of CircuitState → `half_open`."""
    prefix = _upper_snake(enum.name) + "_"
    return {
        value.number: (value.name[len(prefix) :] if value.name.startswith(prefix) else value.name).lower()
        for value in enum.values
    }


@cache
def _enum_numbers(enum: EnumDescriptor) -> dict[str, int]:
    numbers = {name: number for number, name in enum_wire_names(enum).items()}
    numbers.update({value.name: value.number for value in enum.values})
    return numbers


def _enum_choices(enum: EnumDescriptor) -> str:
    names = [name for number, name in sorted(enum_wire_names(enum).items()) if number != 0]
    return "one of " + ", ".join(repr(n) for n in names)


# -- input -----------------------------------------------------------------------------------


@cache
def _input_names(message: MessageDescriptor) -> dict[str, FieldDescriptor]:
    names: dict[str, FieldDescriptor] = {}
    for field in message.fields:
        names[field.json_name] = field
        for alias in field.GetOptions().Extensions[options_pb2.json_alias]:
            names[alias] = field
    for field in message.fields:  # proto names win over any alias that collides with them
        names[field.name] = field
    return names


def field_for(message: MessageDescriptor, key: str) -> FieldDescriptor | None:
    return _input_names(message).get(key)


def normalize(data: Mapping[str, Any], message: MessageDescriptor, prefix: str = "") -> dict[str, Any]:
    """Rewrite a JSON object into what `json_format.ParseDict` accepts for `message`."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        field = field_for(message, key)
        if field is None or value is None:
            continue
        path = f"{prefix}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if not isinstance(value, dict):
                raise FieldTypeError(path, "a JSON object", value)
            result[field.name] = value
        elif field.is_repeated:
            if not isinstance(value, list):
                raise FieldTypeError(path, "a JSON array", value)
            result[field.name] = [_normalize_value(v, field, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            result[field.name] = _normalize_value(value, field, path)
    return result


def _field_mask(value: Any, path: str) -> str:
    """A field mask as our JSON writes field names (snake_case, comma-separated) or as a list;
    protojson wants lowerCamel paths."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise FieldTypeError(path, "field names separated by commas", value)
    return ",".join(
        "".join(w if i == 0 else w[:1].upper() + w[1:] for i, w in enumerate(p.strip().split("_")))
        for p in value.split(",")
        if p.strip()
    )


def _normalize_value(value: Any, field: FieldDescriptor, path: str) -> Any:
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.FieldMask":
            return _field_mask(value, path)
        if field.message_type.full_name in _JSON_PASSTHROUGH or field.message_type.full_name.startswith(
            _WRAPPERS_PREFIX
        ):
            return value
        if not isinstance(value, dict):
            raise FieldTypeError(path, "a JSON object", value)
        return normalize(value, field.message_type, path + ".")
    if field.enum_type is not None:
        return _normalize_enum(value, field.enum_type, path)
    if field.cpp_type == FD.CPPTYPE_STRING:
        if field.type == FD.TYPE_BYTES:
            return value
        if not isinstance(value, str):
            raise FieldTypeError(path, "a string", value)
        return value
    if field.cpp_type == FD.CPPTYPE_BOOL:
        return _normalize_bool(value, path)
    if field.cpp_type in _INT_TYPES:
        return _normalize_int(value, path)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldTypeError(path, "a number", value)
    return value


def _normalize_enum(value: Any, enum: EnumDescriptor, path: str) -> Any:
    if isinstance(value, str):
        number = _enum_numbers(enum).get(value) or _enum_numbers(enum).get(value.lower())
        if number is None:
            raise FieldTypeError(path, _enum_choices(enum), value)
        return number
    if isinstance(value, int) and not isinstance(value, bool) and value in enum_wire_names(enum):
        return value
    raise FieldTypeError(path, _enum_choices(enum), value)


def _normalize_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", ""):
        return False
    raise FieldTypeError(path, "true or false", value)


def _normalize_int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise FieldTypeError(path, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise FieldTypeError(path, "an integer", value)


def parse(data: Mapping[str, Any], message_class: type[_message.Message]) -> _message.Message:
    """Build a request message from JSON; raises FieldTypeError for a value that does not fit."""
    message = message_class()
    normalized = normalize(data, message.DESCRIPTOR)
    try:
        json_format.ParseDict(normalized, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise FieldTypeError(_error_path(str(error)), "a valid value", _error_value(str(error))) from None
    return message


def _error_path(text: str) -> str:
    # ParseDict messages end with "... at 'Type.field'."; keep the field for the client.
    marker = " at '"
    if marker in text:
        return text.rsplit(marker, 1)[1].rstrip("'.").split(".", 1)[-1]
    return "body"


def _error_value(text: str) -> str:
    return text.split(" at '", 1)[0]


# -- output ----------------------------------------------------------------------------------


def to_json(message: _message.Message) -> dict[str, Any]:
    """The JSON object for a message, following the output rules in the module docstring."""
    result: dict[str, Any] = {}
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        in_oneof = field.containing_oneof is not None and not _is_synthetic_oneof(field)
        tracks_presence = in_oneof or (field.has_presence and not field.is_repeated)
        if tracks_presence and not message.HasField(field.name):
            if not in_oneof:
                result[field.name] = None
            continue
        result[field.name] = field_to_json(message, field)
    return result


def _is_synthetic_oneof(field: FieldDescriptor) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == "_" + field.name


def field_to_json(message: _message.Message, field: FieldDescriptor) -> Any:
    value = getattr(message, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {str(k): _scalar_or_message(v, value_field) for k, v in value.items()}
    if field.is_repeated:
        return [_scalar_or_message(item, field) for item in value]
    return _scalar_or_message(value, field)


def _whole_numbers(value: Any) -> Any:
    """google.protobuf.Value keeps every number as a double; print 3 as 3, not 3.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    return value


def _scalar_or_message(value: Any, field: FieldDescriptor) -> Any:
    if field.message_type is not None:
        if field.message_type.full_name.startswith("google.protobuf."):
            return _whole_numbers(json_format.MessageToDict(value))
        return to_json(value)
    if field.enum_type is not None:
        return enum_wire_names(field.enum_type).get(value, value)
    if field.type == FD.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
