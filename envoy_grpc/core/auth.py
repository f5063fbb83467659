"""Who is calling: resolved once per call from the metadata, then read by core through a ContextVar."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol

from envoy_grpc import errors
from envoy_grpc.config import AuthMode
from envoy_grpc.core import tokens

Role = Literal["agent", "operator", "hook", "anonymous"]


@dataclass(frozen=True)
class Caller:
    """The identity behind a call: an agent, the operator, the hook adapter or nobody."""

    role: Role
    agent_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def describe(self) -> str:
        return self.agent_id if self.agent_id else self.role


ANONYMOUS = Caller("anonymous")
OPERATOR = Caller("operator")
HOOK = Caller("hook")

CALLER: ContextVar[Caller] = ContextVar("envoy_caller", default=ANONYMOUS)


def current_caller() -> Caller:
    return CALLER.get()


class TokenDirectory(Protocol):
    """What authentication needs from the agent registry."""

    def agent_for_token_hash(self, token_hash: str) -> str | None: ...

    def is_active(self, agent_id: str) -> bool: ...

    def mark_seen(self, agent_id: str) -> None: ...


Policy = Literal["agent", "public", "operator"]


class Authenticator:
    """Turns call metadata into a Caller, or refuses the call with a clear reason."""

    def __init__(
        self,
        mode: AuthMode,
        directory: TokenDirectory,
        operator_token: str,
        hook_token: str | None = None,
    ) -> None:
        self.mode = mode
        self.directory = directory
        self._operator_hash = tokens.token_hash(operator_token)
        self._hook_hash = tokens.token_hash(hook_token) if hook_token else None

    def resolve(self, metadata: Iterable[tuple[str, str | bytes]], policy: Policy) -> Caller:
        bearer, header_agent = _credentials(metadata)
        caller = self._identify(bearer, header_agent)
        if caller is ANONYMOUS and policy != "public":
            if self.mode == "trust":
                raise errors.unauthenticated("missing X-Agent-Id header naming an active agent")
            raise errors.unauthenticated(
                "missing credentials: send 'authorization: Bearer <token>' with the token "
                "returned when the agent registered",
            )
        if policy == "operator" and not caller.is_operator:
            raise errors.permission_denied(
                "only the operator may call this method (use the token in operator.token)",
                reason="OPERATOR_ONLY",
            )
        if caller.agent_id is not None:
            self.directory.mark_seen(caller.agent_id)
        return caller

    def _identify(self, bearer: str | None, header_agent: str | None) -> Caller:
        if bearer:
            digest = tokens.token_hash(bearer)
            if tokens.same_secret(digest, self._operator_hash):
                return OPERATOR
            if self._hook_hash is not None and tokens.same_secret(digest, self._hook_hash):
                return HOOK
            agent_id = self.directory.agent_for_token_hash(digest)
            if agent_id is not None:
                return Caller("agent", agent_id)
            if self.mode == "token":
                raise errors.unauthenticated(
                    "the bearer token is not valid: it is unknown, was rotated, or its agent was retired",
                    reason="INVALID_TOKEN",
                )
        if self.mode == "trust" and header_agent:
            if not self.directory.is_active(header_agent):
                raise errors.unauthenticated(
                    f"X-Agent-Id {header_agent!r} does not name an active agent",
                    reason="INVALID_AGENT_HEADER",
                )
            return Caller("agent", header_agent)
        return ANONYMOUS


def _credentials(metadata: Iterable[tuple[str, str | bytes]]) -> tuple[str | None, str | None]:
    bearer: str | None = None
    header_agent: str | None = None
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, credential = value.strip().partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                bearer = credential.strip()
        elif key == "x-agent-id" and isinstance(value, str):
            header_agent = value.strip()
    return bearer, header_agent
