"""The generated message modules under short names: `from envoy_client.pb import messages_pb2`."""

from envoy_client.gen.envoy.v1 import (
    agents_pb2,
    code_pb2,
    common_pb2,
    graph_pb2,
    hooks_pb2,
    knowledge_pb2,
    messages_pb2,
    sessions_pb2,
    system_pb2,
)

__all__ = [
    "agents_pb2",
    "code_pb2",
    "common_pb2",
    "graph_pb2",
    "hooks_pb2",
    "knowledge_pb2",
    "messages_pb2",
    "sessions_pb2",
    "system_pb2",
]
