"""Helpers for the lease, task and dependency tests: error details over gRPC and HTTP, stubs, streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support import Server, auth

from envoy_grpc.gen.envoy.v1 import (
    dependencies_pb2_grpc,
    leases_pb2_grpc,
    messages_pb2,
    tasks_pb2_grpc,
)

TIMEOUT = 5.0


def leases(server: Server) -> leases_pb2_grpc.LeaseServiceStub:
    return leases_pb2_grpc.LeaseServiceStub(server.channel)


def tasks(server: Server) -> tasks_pb2_grpc.TaskServiceStub:
    return tasks_pb2_grpc.TaskServiceStub(server.channel)


def dependencies(server: Server) -> dependencies_pb2_grpc.DependencyServiceStub:
    return dependencies_pb2_grpc.DependencyServiceStub(server.channel)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The ErrorInfo of a failed gRPC call."""
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo in the status details")


def http_error_info(body: dict[str, Any]) -> dict[str, Any]:
    """The ErrorInfo detail of an HTTP error body."""
    for detail in body["error"]["details"]:
        if detail["@type"].endswith("google.rpc.ErrorInfo"):
            return dict(detail)
    raise AssertionError(f"no ErrorInfo in {body}")


def subscribe(server: Server, agent: dict[str, Any]) -> Any:
    """A live gRPC Subscribe stream of the agent's messages."""
    return server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id=agent["agent_id"]), metadata=auth(agent["token"])
    )


def data_of(message: messages_pb2.Message) -> dict[str, Any]:
    """The data part of an announcement or notice, as plain JSON."""
    from google.protobuf import json_format

    for part in message.parts:
        if part.HasField("data"):
            return dict(json.loads(json_format.MessageToJson(part.data)))
    raise AssertionError(f"no data part in {message}")


async def next_kind(call: Any, kind: str) -> tuple[messages_pb2.Message, dict[str, Any]]:
    """Read the stream until a message whose data part has this `kind`; fail after TIMEOUT."""

    async def until() -> tuple[messages_pb2.Message, dict[str, Any]]:
        while True:
            message = await call.read()
            assert message is not grpc.aio.EOF, "the stream ended"
            data = data_of(message)
            if data.get("kind") == kind:
                return message, data

    return await asyncio.wait_for(until(), TIMEOUT)


async def subscribe_project(server: Server, agent: dict[str, Any], project: str) -> None:
    status, body = await server.request(
        "POST", "/subscriptions", {"agent_id": agent["agent_id"], "project": project}, token=agent["token"]
    )
    assert status == 201, body
