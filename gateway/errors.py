"""Error bodies for HTTP callers: `{"error": {"code", "message", "status", "details"}}`.

`code` is the UPPER_SNAKE reason (as the original envoy wrote it), `status` the gRPC code name, and
`details` the `google.rpc.Status` details in their JSON form (BadRequest field violations, ErrorInfo).
"""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

from envoy_grpc.errors import EnvoyError, http_status_for, reason_of

# Importing error_details_pb2 registers BadRequest and ErrorInfo for Any → JSON.
_ = error_details_pb2


def error_body(status: status_pb2.Status, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": reason,
            "message": status.message,
            "status": code_pb2.Code.Name(status.code),
            "details": [json_format.MessageToDict(detail) for detail in status.details],
        }
    }


def from_rpc_error(error: grpc.aio.AioRpcError) -> tuple[int, dict[str, Any]]:
    """HTTP status and body for a failed gRPC call."""
    return from_call_outcome(error.code(), error.details() or "", error.trailing_metadata())


def from_call_outcome(code: grpc.StatusCode, details: str, trailing: Any) -> tuple[int, dict[str, Any]]:
    """HTTP status and body from a finished call's code, details and trailing metadata."""
    status: status_pb2.Status | None = None
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
    if status is None:
        status = status_pb2.Status(code=code.value[0], message=details)
    reason = reason_of(status)
    return http_status_for(status.code, reason), error_body(status, reason)


def from_envoy_error(error: EnvoyError, http_status: int | None = None) -> tuple[int, dict[str, Any]]:
    status = error.to_status()
    return http_status or error.http_status, error_body(status, error.reason)


def local_error(
    http_status: int, code: grpc.StatusCode, reason: str, message: str
) -> tuple[int, dict[str, Any]]:
    """An error the gateway answers itself (no route, malformed JSON, body too large)."""
    return from_envoy_error(EnvoyError(code, reason, message), http_status)


def retry_after(body: dict[str, Any]) -> str | None:
    """The `Retry-After` header (whole seconds, at least 1) for an error carrying a RetryInfo."""
    for detail in body.get("error", {}).get("details", ()):
        if detail.get("@type", "").endswith("/google.rpc.RetryInfo"):
            delay = str(detail.get("retryDelay", "1s")).removesuffix("s")
            try:
                return str(max(1, math.ceil(float(delay))))
            except ValueError:
                return "1"
    return None


def http_response(status_and_body: tuple[int, dict[str, Any]]) -> web.Response:
    """The JSON error response, with `Retry-After` when the error says when to try again."""
    status, body = status_and_body
    response = web.Response(status=status, text=dumps(body), content_type="application/json")
    delay = retry_after(body)
    if delay is not None:
        response.headers["Retry-After"] = delay
    return response


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
