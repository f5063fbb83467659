"""Which envoy agent a hook payload speaks for.

A session is one root agent, `claude-<first 8 characters of session_id>` (kind `claude`; `codex-<8>` and
`cursor-<8>`, kinds `codex` and `cursor`, for the other harnesses); registering
that name again returns the same agent while it is active, so a resumed session keeps its agent. A
subagent is a child of it named after the payload's `agent_id` (so `id3.1`), found again by that name
for every later hook of the same subagent. SessionEnd retires the root, and with it every child.
"""

from __future__ import annotations

from dataclasses import dataclass

from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import OPERATOR
from envoy_grpc.core.hook_payloads import CLAUDE, Harness, HookEvent


@dataclass(frozen=True)
class HookIdentity:
    root_id: str
    # The agent the payload speaks for: the root, or the subagent's child agent.
    agent_id: str
    # The envoy session ID the payload's records belong to (a subagent gets its own).
    session_id: str
    parent_session_id: str | None


def root_name(session_id: str, harness: Harness = CLAUDE) -> str:
    return f"{harness.agent_prefix}-{session_id[:8]}"


def subagent_session_id(session_id: str, subagent_id: str) -> str:
    return f"{session_id}.{subagent_id}"


class HookIdentities:
    def __init__(self, registry: AgentRegistry) -> None:
        self.registry = registry

    async def resolve(self, event: HookEvent) -> HookIdentity:
        """The agents behind a payload, registering them on first sight."""
        harness = event.harness
        name = root_name(event.session_id, harness)
        root_id = self.registry.active_root(name)
        if root_id is None:
            root_id = (await self.registry.register(OPERATOR, name, harness.kind, None)).agent.agent_id
        if not event.subagent_id:
            return HookIdentity(root_id, root_id, event.session_id, None)
        child_id = self._child(root_id, event.subagent_id)
        if child_id is None:
            kind = event.subagent_type or harness.subagent_kind
            child = await self.registry.register(OPERATOR, event.subagent_id, kind[:100], root_id)
            child_id = child.agent.agent_id
        return HookIdentity(
            root_id, child_id, subagent_session_id(event.session_id, event.subagent_id), event.session_id
        )

    def _child(self, root_id: str, name: str) -> str | None:
        for child_id in self.registry.children(root_id):
            child = self.registry.get(child_id)
            if child.name == name and child.active:
                return child_id
        return None

    async def retire(self, root_id: str) -> list[str]:
        return await self.registry.retire(OPERATOR, root_id)
