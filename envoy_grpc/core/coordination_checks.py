"""Input and identity rules shared by leases, tasks and dependencies.

Who acts: an agent acts as itself (a named `agent_id` must be the caller), while the hook and
operator tokens act for the agent they name. Who may touch an agent's lease or claim: the agent, one
of its ancestors, the hook or the operator.
"""

from __future__ import annotations

import base64

from envoy_grpc import errors
from envoy_grpc.core import ids
from envoy_grpc.core.auth import Caller

MAX_PROJECT = 200
MAX_REASON = 1000
MAX_ID_DIGITS = 18


def acts_for_others(caller: Caller) -> bool:
    return caller.is_operator or caller.role == "hook"


def acting_agent(caller: Caller, requested: str, field_path: str = "agent_id") -> str:
    """The agent a call acts as: the calling agent, or the one the hook or operator names."""
    if caller.agent_id is not None:
        if requested and requested != caller.agent_id:
            raise errors.permission_denied(
                f"{field_path} is {requested!r} but the caller is {caller.agent_id!r}; an agent acts as itself",
                reason="NOT_THE_CALLER",
                agentId=requested,
            )
        return caller.agent_id
    if not requested:
        raise errors.invalid_argument(
            field_path, "is required when the caller is the hook or the operator (name the agent to act for)"
        )
    return requested


def may_act_for(caller: Caller, agent_id: str) -> bool:
    """The agent itself, one of its ancestors, the hook or the operator."""
    if acts_for_others(caller):
        return True
    return caller.agent_id is not None and (
        caller.agent_id == agent_id or ids.is_ancestor(caller.agent_id, agent_id)
    )


def project(value: str, field_path: str = "project") -> str:
    value = value.strip()
    if not value:
        raise errors.missing_fields([field_path])
    if len(value) > MAX_PROJECT:
        raise errors.invalid_argument(
            field_path, f"must be at most {MAX_PROJECT} characters, got {len(value)}"
        )
    return value


def text(field_path: str, value: str, limit: int, required: bool = False) -> str:
    if required and not value.strip():
        raise errors.missing_fields([field_path])
    if len(value) > limit:
        raise errors.invalid_argument(field_path, f"must be at most {limit:,} characters, got {len(value):,}")
    return value


def number(value: str, not_found: errors.EnvoyError) -> int:
    """A decimal ID from the API; anything else names nothing, so it is NOT_FOUND."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        raise not_found
    return int(value)


def page_size(value: int, default: int = 100, maximum: int = 1000) -> int:
    if value < 0:
        raise errors.invalid_argument(
            "page_size", f"must be 0 (the default, {default}) or positive, got {value}"
        )
    return min(value or default, maximum)


def page_after(token: str, kind: str) -> int:
    """The last ID of the previous page, from a `<kind>:<id>` token (0 for the first page)."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    prefix, _, last = raw.partition(":")
    if prefix != kind or not (last.isascii() and last.isdigit()):
        raise errors.invalid_argument("page_token", f"is not a token returned by a previous list of {kind}s")
    return int(last)


def page_token(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode()
