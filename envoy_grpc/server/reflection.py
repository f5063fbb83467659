"""Server reflection (grpcurl, buf curl, grpcui) over the default descriptor pool.

The upb-backed pool cannot find the file of a method name (`envoy.v1.AgentService.GetAgent`), so
`grpcurl describe` of a method failed; this pool view falls back to the method's service.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection

from envoy_grpc.server.handler_table import HandlerTable


class _MethodAwarePool:
    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, dot, _ = symbol.rpartition(".")
            if not dot:
                raise
            return self._pool.FindFileContainingSymbol(service)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(server: HandlerTable, service_names: list[str]) -> None:
    names = [*service_names, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server, pool=_MethodAwarePool(descriptor_pool.Default()))
