"""hypothesis-generated requests for every gRPC method: never INTERNAL or UNKNOWN, never a crash or a hang.

Each request message is built from its descriptor (tests/proto_strategies.py) with random values
over each type's whole range, sent with the operator's or an agent's token to a server running as a
child process. A fixed seed and a few examples per method in `make test`; `make test-long`
(ENVOY_TEST_LONG=1) sends hundreds per method.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor, descriptor_pool, message, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proto_strategies import for_message
from support import ServerProcess, launch

from envoy_grpc.gen.envoy.v1 import (  # noqa: F401  (importing registers every service in the pool)
    agents_pb2,
    code_pb2,
    dependencies_pb2,
    graph_pb2,
    hooks_pb2,
    knowledge_pb2,
    leases_pb2,
    messages_pb2,
    sessions_pb2,
    system_pb2,
    tasks_pb2,
)

LONG = os.environ.get("ENVOY_TEST_LONG") == "1"
EXAMPLES = 300 if LONG else 6
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
UNARY_TIMEOUT = 10.0  # far above any honest answer: running into it means the server hung
STREAM_WINDOW = 0.3  # how long a stream is read before the client leaves (Subscribe never ends)
FILES = [
    "agents",
    "code",
    "dependencies",
    "graph",
    "hooks",
    "knowledge",
    "leases",
    "messages",
    "sessions",
    "system",
    "tasks",
]
TRIED: collections.Counter[str] = collections.Counter()


def all_methods() -> list[descriptor.MethodDescriptor]:
    pool = descriptor_pool.Default()
    found = []
    for name in FILES:
        for service in pool.FindFileByName(f"envoy/v1/{name}.proto").services_by_name.values():
            found.extend(service.methods)
    return found


METHODS = all_methods()


class Fuzzed:
    """A spawned server plus one sync channel and two identities (operator and a plain agent)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.channel = grpc.insecure_channel(server.grpc_target)
        register = self.channel.unary_unary(
            "/envoy.v1.AgentService/RegisterAgent",
            request_serializer=agents_pb2.RegisterAgentRequest.SerializeToString,
            response_deserializer=agents_pb2.RegisterAgentResponse.FromString,
        )
        self.agent_token = register(
            agents_pb2.RegisterAgentRequest(name="fuzz", kind="fuzz"), timeout=10
        ).token
        self.operator_token = (server.data_dir / "operator.token").read_text().strip()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    server = launch(Path(tmp_path_factory.mktemp("fuzz-grpc")) / "data")
    handle = Fuzzed(server)
    yield handle
    handle.channel.close()
    server.stop()


def call(
    fuzzed: Fuzzed, method: descriptor.MethodDescriptor, request: message.Message, operator: bool
) -> None:
    path = f"/{method.containing_service.full_name}/{method.name}"
    output = message_factory.GetMessageClass(method.output_type)
    token = fuzzed.operator_token if operator else fuzzed.agent_token
    metadata = (("authorization", f"Bearer {token}"),)
    serialize, parse = type(request).SerializeToString, output.FromString
    try:
        if method.server_streaming:
            stream = fuzzed.channel.unary_stream(
                path, request_serializer=serialize, response_deserializer=parse
            )
            for _ in stream(request, metadata=metadata, timeout=STREAM_WINDOW):
                pass
        else:
            unary = fuzzed.channel.unary_unary(
                path, request_serializer=serialize, response_deserializer=parse
            )
            unary(request, metadata=metadata, timeout=UNARY_TIMEOUT)
    except grpc.RpcError as error:
        code = error.code()
        assert code not in FORBIDDEN, f"{path} answered {code}: {error.details()}\nrequest: {request}"
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            assert method.server_streaming, f"{path} hung for {UNARY_TIMEOUT} s on {request}"
    TRIED[method.full_name] += 1


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name.removeprefix("envoy.v1."))
def test_random_requests_never_break_the_method(fuzzed: Fuzzed, method: descriptor.MethodDescriptor) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(request=for_message(method.input_type), operator=st.booleans())
    def fuzz(request: message.Message, operator: bool) -> None:
        call(fuzzed, method, request, operator)

    fuzz()


def test_the_server_survived_every_input_and_answers_at_once(fuzzed: Fuzzed) -> None:
    assert fuzzed.server.process.poll() is None, "the server died"
    health = fuzzed.channel.unary_unary(
        "/envoy.v1.SystemService/GetHealth",
        request_serializer=system_pb2.GetHealthRequest.SerializeToString,
        response_deserializer=system_pb2.GetHealthResponse.FromString,
    )
    began = time.monotonic()
    assert health(system_pb2.GetHealthRequest(), timeout=5).status == "ok"
    assert time.monotonic() - began < 2
    crashes = [line for line in fuzzed.server.log if "Traceback" in line]
    assert not crashes, "".join(fuzzed.server.log[-60:])
    print(f"gRPC fuzz: {sum(TRIED.values())} requests over {len(TRIED)} methods")
