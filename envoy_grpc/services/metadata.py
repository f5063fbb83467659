"""Response metadata the gateway reads: how a servicer says "this already existed"."""

from __future__ import annotations

import grpc

EXISTING_KEY = "envoy-existing"


def mark_existing(context: grpc.aio.ServicerContext) -> None:
    """Tell the gateway an idempotent create found an existing resource (HTTP 200, not 201)."""
    context.set_trailing_metadata(((EXISTING_KEY, "true"),))
