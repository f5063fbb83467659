"""Services declared in the proto whose behaviour belongs to later work: every method answers
UNIMPLEMENTED with a message saying when it arrives. Nothing is faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
from google.protobuf import descriptor as _descriptor
from google.protobuf import message_factory

from envoy_grpc import errors

# Which piece of work brings each service (the README lists the same). Every service declared in
# the proto is implemented today; a service added later gets its entry here until it is.
ARRIVES_WITH: dict[str, str] = {}


def _unary(method: str, arrives_with: str) -> Any:
    async def behavior(unused_request: Any, unused_context: grpc.aio.ServicerContext) -> NoReturn:
        raise errors.unimplemented(method, arrives_with)

    return behavior


def _stream(method: str, arrives_with: str) -> Any:
    async def behavior(unused_request: Any, unused_context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        raise errors.unimplemented(method, arrives_with)
        yield  # makes this an async generator, as a server-streaming handler must be

    return behavior


def generic_handler(service: _descriptor.ServiceDescriptor) -> grpc.GenericRpcHandler:
    """A handler for every method of `service` that answers UNIMPLEMENTED (after auth and checks)."""
    arrives_with = ARRIVES_WITH.get(service.full_name, "a later release")
    handlers = {}
    for method in service.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        name = f"{service.name}.{method.name}"
        if method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _stream(name, arrives_with),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary(name, arrives_with),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)
