"""Domain errors and the one mapping from them to gRPC statuses and HTTP codes.

Core code raises `EnvoyError`; the server interceptor turns it into a `google.rpc.Status` with an
`ErrorInfo` (the UPPER_SNAKE reason) and, for bad input, a `BadRequest` naming each field. The
gateway derives the HTTP status from the same tables, so gRPC and HTTP callers see one vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "envoy-grpc"

# google/rpc/code.proto's HTTP mapping, by gRPC code number.
HTTP_STATUS_BY_CODE: Mapping[int, int] = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}

# Reasons whose HTTP status differs from their code's mapping: the original envoy's codes, and
# DESIGN.md's rule that a missing or mistyped field in well-formed JSON is a 422.
HTTP_STATUS_BY_REASON: Mapping[str, int] = {
    "AGENT_OFFLINE": 409,
    "FIELD_REQUIRED": 422,
    "FIELD_TYPE": 422,
    # The task board and leases (envoy's INVALID_TASK_STATE and TASK_ALREADY_CLAIMED were 409).
    "INVALID_TASK_STATE": 409,
    "TASK_ALREADY_CLAIMED": 409,
    "TASK_BLOCKED": 409,
    "LEASE_ENDED": 409,
}


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path to it and what was expected."""

    field: str
    description: str


@dataclass
class EnvoyError(Exception):
    """An error a client can act on: a gRPC code, an UPPER_SNAKE reason and a clear message."""

    code: grpc.StatusCode
    reason: str
    message: str
    violations: Sequence[FieldViolation] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Seconds after which a retry may succeed (sent as google.rpc.RetryInfo; HTTP `Retry-After`).
    retry_delay: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return http_status_for(self.code.value[0], self.reason)

    def to_status(self) -> status_pb2.Status:
        """The `google.rpc.Status` sent in the `grpc-status-details-bin` trailer."""
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        info = any_pb2.Any()
        info.Pack(
            error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata)
        )
        status.details.append(info)
        if self.violations:
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in self.violations
                ]
            )
            detail = any_pb2.Any()
            detail.Pack(bad_request)
            status.details.append(detail)
        if self.retry_delay is not None:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromNanoseconds(int(self.retry_delay * 1e9))
            detail = any_pb2.Any()
            detail.Pack(retry)
            status.details.append(detail)
        return status


def http_status_for(code: int, reason: str) -> int:
    return HTTP_STATUS_BY_REASON.get(reason, HTTP_STATUS_BY_CODE.get(code, 500))


def reason_of(status: status_pb2.Status) -> str:
    """The ErrorInfo reason carried by a status, or its code name when it has none."""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return str(code_pb2.Code.Name(status.code))


def invalid_argument(
    field_path: str, description: str, *, reason: str = "INVALID_ARGUMENT", message: str | None = None
) -> EnvoyError:
    """Bad input in one field."""
    return EnvoyError(
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
        message or f"{field_path}: {description}",
        violations=[FieldViolation(field_path, description)],
        metadata={"field": field_path},
    )


def missing_fields(paths: Sequence[str]) -> EnvoyError:
    """One or more required fields were not given."""
    names = ", ".join(paths)
    plural = "fields" if len(paths) > 1 else "field"
    return EnvoyError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIELD_REQUIRED",
        f"missing required {plural}: {names}",
        violations=[FieldViolation(p, "is required") for p in paths],
        metadata={"fields": names},
    )


def not_found(reason: str, message: str, **metadata: str) -> EnvoyError:
    return EnvoyError(grpc.StatusCode.NOT_FOUND, reason, message, metadata=metadata)


def agent_not_found(agent_id: str, field_path: str = "agent_id") -> EnvoyError:
    return EnvoyError(
        grpc.StatusCode.NOT_FOUND,
        "AGENT_NOT_FOUND",
        f"no agent with ID {agent_id!r} ({field_path})",
        metadata={"agentId": agent_id, "field": field_path},
    )


def permission_denied(message: str, reason: str = "PERMISSION_DENIED", **metadata: str) -> EnvoyError:
    return EnvoyError(grpc.StatusCode.PERMISSION_DENIED, reason, message, metadata=metadata)


def unauthenticated(message: str, reason: str = "UNAUTHENTICATED") -> EnvoyError:
    return EnvoyError(grpc.StatusCode.UNAUTHENTICATED, reason, message)


def failed_precondition(reason: str, message: str, **metadata: str) -> EnvoyError:
    return EnvoyError(grpc.StatusCode.FAILED_PRECONDITION, reason, message, metadata=metadata)


def unimplemented(method: str, arrives_with: str) -> EnvoyError:
    return EnvoyError(
        grpc.StatusCode.UNIMPLEMENTED,
        "NOT_IMPLEMENTED",
        f"{method} is declared in the API but not implemented yet; it arrives with {arrives_with}",
        metadata={"method": method},
    )
