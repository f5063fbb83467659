"""`/openapi.json`, generated from the same descriptors as the routes, with the proto comments as
descriptions (read from the descriptor set `make proto` writes with source info)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import descriptor_pb2

from envoy_grpc import __version__
from envoy_grpc.types import FieldDescriptor, MessageDescriptor
from gateway.routes import Route
from gateway.transcode import enum_wire_names

FD = _descriptor.FieldDescriptor
_SCALARS: dict[int, dict[str, Any]] = {
    FD.CPPTYPE_STRING: {"type": "string"},
    FD.CPPTYPE_BOOL: {"type": "boolean"},
    FD.CPPTYPE_INT32: {"type": "integer", "format": "int32"},
    FD.CPPTYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FD.CPPTYPE_INT64: {"type": "integer", "format": "int64"},
    FD.CPPTYPE_UINT64: {"type": "integer", "format": "int64", "minimum": 0},
    FD.CPPTYPE_FLOAT: {"type": "number"},
    FD.CPPTYPE_DOUBLE: {"type": "number"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "The UPPER_SNAKE reason, such as AGENT_NOT_FOUND."},
                "message": {"type": "string"},
                "status": {"type": "string", "description": "The gRPC status code name."},
                "details": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["code", "message", "status"],
        }
    },
}


@cache
def _comments() -> dict[str, str]:
    """Leading comments by element path (`envoy.v1.AgentService.GetAgent`, `envoy.v1.Agent.name`)."""
    data = resources.files("envoy_grpc.gen").joinpath("envoy_v1.binpb").read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(data)
    comments: dict[str, str] = {}
    for file in files.file:
        names = _element_names(file)
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name and location.leading_comments:
                comments[name] = " ".join(location.leading_comments.split())
    return comments


def _element_names(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    names: dict[tuple[int, ...], str] = {}
    package = file.package
    for si, service in enumerate(file.service):
        names[(6, si)] = f"{package}.{service.name}"
        for mi, method in enumerate(service.method):
            names[(6, si, 2, mi)] = f"{package}.{service.name}.{method.name}"
    for mi, message in enumerate(file.message_type):
        names[(4, mi)] = f"{package}.{message.name}"
        for fi, field in enumerate(message.field):
            names[(4, mi, 2, fi)] = f"{package}.{message.name}.{field.name}"
    return names


def _is_required(field: FieldDescriptor) -> bool:
    return field_behavior_pb2.REQUIRED in field.GetOptions().Extensions[field_behavior_pb2.field_behavior]


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, message: MessageDescriptor) -> dict[str, Any]:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        name = message.full_name
        if name not in self.components:
            self.components[name] = {}  # placeholder first: messages may refer to themselves
            self.components[name] = self._object(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, message: MessageDescriptor) -> dict[str, Any]:
        properties = {field.name: self.field(field) for field in message.fields}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if message.full_name in _comments():
            schema["description"] = _comments()[message.full_name]
        required = [field.name for field in message.fields if _is_required(field)]
        if required:
            schema["required"] = required
        return schema

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            schema: dict[str, Any] = {
                "type": "object",
                "additionalProperties": self.field(field.message_type.fields_by_name["value"]),
            }
        else:
            schema = self._single(field)
            if field.is_repeated:
                schema = {"type": "array", "items": schema}
            elif (field.has_presence and field.containing_oneof is None) or _synthetic(field):
                schema = {"anyOf": [schema, {"type": "null"}]}
        owner = field.containing_type
        description = _comments().get(f"{owner.full_name}.{field.name}") if owner is not None else None
        if description:
            schema["description"] = description
        return schema

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None:
            return self.ref(field.message_type)
        if field.enum_type is not None:
            values = [name for number, name in sorted(enum_wire_names(field.enum_type).items()) if number]
            return {"type": "string", "enum": values}
        if field.type == FD.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        return dict(_SCALARS[field.cpp_type])


def _synthetic(field: FieldDescriptor) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and oneof.name == "_" + field.name


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.variables
    ]
    if route.body == "*":
        return parameters
    descriptor = route.request_class.DESCRIPTOR
    for field in descriptor.fields:
        if field.name in route.variables or field.name == route.body or field.message_type is not None:
            continue
        schema = _Schemas()._single(field)
        if field.is_repeated:
            schema = {"type": "array", "items": schema}
        parameter: dict[str, Any] = {"name": field.name, "in": "query", "required": False, "schema": schema}
        description = _comments().get(f"{descriptor.full_name}.{field.name}")
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    method = route.method.descriptor
    service = method.containing_service
    operation: dict[str, Any] = {
        "operationId": f"{service.name}_{method.name}"
        + ("" if route.template == _primary(route) else "_alt"),
        "tags": [service.name],
        "summary": method.name,
        "description": _comments().get(f"{service.full_name}.{method.name}", ""),
        "parameters": _parameters(route),
    }
    if route.body:
        body_schema = (
            schemas.ref(route.request_class.DESCRIPTOR)
            if route.body == "*"
            else schemas.field(route.request_class.DESCRIPTOR.fields_by_name[route.body])
        )
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body_schema}},
        }
    if route.streaming:
        content = {"text/event-stream": {"schema": {"type": "string"}}}
    elif route.response_body:
        content = {
            "application/json": {
                "schema": schemas.field(route.response_class.DESCRIPTOR.fields_by_name[route.response_body])
            }
        }
    else:
        content = {"application/json": {"schema": schemas.ref(route.response_class.DESCRIPTOR)}}
    success = str(route.method.http_success_code)
    responses: dict[str, Any] = {success: {"description": "Success.", "content": content}}
    if success == "201":
        responses["200"] = {
            "description": "The resource already existed (an idempotent repeat).",
            "content": content,
        }
    responses["default"] = {
        "description": "An error; `error.code` is the reason.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    operation["responses"] = responses
    return operation


def _primary(route: Route) -> str:
    from google.api import annotations_pb2

    rule = route.method.descriptor.GetOptions().Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    return str(getattr(rule, verb)) if verb else ""


def document(
    routes: Iterable[Route], extra_paths: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The document; `extra_paths` adds hand-written path items for routes that no RPC annotates (/ws)."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.template, {})[route.verb.lower()] = _operation(route, schemas)
    for template, item in (extra_paths or {}).items():
        paths.setdefault(template, {}).update(item)
    components = dict(sorted(schemas.components.items()))
    components["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "envoy-grpc HTTP+JSON API",
            "version": __version__,
            "description": (
                "Generated from the envoy.v1 protos. Send 'Authorization: Bearer <token>' on every call "
                "except the public ones (health, stats, registration of root agents)."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
