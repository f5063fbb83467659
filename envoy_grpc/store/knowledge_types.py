"""The shapes of the knowledge area: what a caller records (`New*`) and what the store returns (`*Row`).

Plain frozen dataclasses shared by the store, the core (`envoy_grpc.core.knowledge`) and the
servicer. Field names follow knowledge.proto. JSON values (metadata, manifests) are kept as the
compact JSON text that is stored, and parsed on demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SCOPES = ("user", "project", "agent")


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 as is: the stored form, and the form whose size the savings estimate counts."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339(seconds: float) -> str:
    """`2025-11-25T13:14:15.123456Z`: always 27 characters, so sizes do not depend on the time."""
    # Rounded to microseconds the way the API's Timestamps are, so both name the same instant.
    moment = _EPOCH + timedelta(microseconds=round(seconds * 1_000_000))
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- what callers record -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewDiscovery:
    agent: str
    discovery_type: str
    target: str
    metadata: dict[str, Any]
    project: str = ""  # empty for none
    # An explicit session must be recorded; None falls back to `metadata.session_id`, linked if known.
    session_id: str | None = None


@dataclass(frozen=True)
class NewMemory:
    key: str
    scope: str  # one of SCOPES
    owner: str  # the project (project scope), the agent label (agent scope) or "" (user scope)
    content: str
    confidence: float
    target: str | None
    provenance_agent: str
    provenance_session_id: str = ""
    provenance_tool_use_id: str = ""


@dataclass(frozen=True)
class NewHandoff:
    from_agent: str
    to_agent: str
    manifest: dict[str, Any]
    project: str = ""
    session_id: str | None = None


@dataclass(frozen=True)
class Term:
    """One search term: a word (one element) or a phrase (several), optionally a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class DiscoveryFilter:
    target: str = ""
    project: str = ""
    discovery_type: str = ""
    agent: str = ""


@dataclass(frozen=True)
class MemoryFilter:
    scope: str = ""
    owner_project: str = ""
    owner_agent: str = ""
    key: str = ""
    target: str = ""


# -- what the store returns --------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveryRow:
    discovery_id: int
    name: str  # `<agent>: <target>`, then ` #2`, ` #3`, ... for later ones in the same project
    agent: str
    discovery_type: str
    target: str
    project: str | None
    session_id: str | None
    session_linked: bool
    metadata_json: str
    created_at: float

    @property
    def metadata(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.metadata_json)
        return parsed

    @property
    def data(self) -> dict[str, Any]:
        """The original's stored form: metadata plus the discovery's own keys, which win."""
        data = self.metadata
        data.update(
            agent=self.agent,
            discovery_type=self.discovery_type,
            target=self.target,
            timestamp=rfc3339(self.created_at),
        )
        if self.project is not None:
            data["project_id"] = self.project
        if self.session_id is not None:
            data["session_id"] = self.session_id
        return data

    @property
    def why(self) -> str | None:
        """`metadata.why` (or, as the original also looked, `metadata.metadata.why`) as text."""
        metadata = self.metadata
        nested = metadata.get("metadata")
        value = metadata.get("why", nested.get("why") if isinstance(nested, dict) else None)
        if value is None:
            return None
        return value if isinstance(value, str) else dumps(value)


@dataclass(frozen=True)
class DiscoveryCreated:
    discovery: DiscoveryRow
    is_new: bool


@dataclass(frozen=True)
class DiscoveryPage:
    discoveries: list[DiscoveryRow]
    total: int
    next_page_token: str


@dataclass(frozen=True)
class MemoryRow:
    memory_id: int
    scope: str
    owner: str
    key: str
    content: str
    confidence: float
    target: str | None
    provenance_agent: str
    provenance_session_id: str
    provenance_tool_use_id: str
    created_at: float
    updated_at: float

    @property
    def project(self) -> str | None:
        return self.owner if self.scope == "project" else None

    @property
    def agent(self) -> str | None:
        return self.owner if self.scope == "agent" else None

    @property
    def name(self) -> str:
        return f"{self.scope}:{self.owner}:{self.key}" if self.owner else f"{self.scope}:{self.key}"

    @property
    def data(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "scope": self.scope,
            "project": self.project,
            "agent": self.agent,
            "content": self.content,
            "confidence": self.confidence,
            "target": self.target,
            "provenance": {
                "agent": self.provenance_agent,
                "session_id": self.provenance_session_id,
                "tool_use_id": self.provenance_tool_use_id,
            },
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


@dataclass(frozen=True)
class MemoryUpserted:
    memory: MemoryRow
    is_new: bool


@dataclass(frozen=True)
class MemoryPage:
    memories: list[MemoryRow]
    next_page_token: str


@dataclass(frozen=True)
class HandoffRow:
    handoff_id: int
    name: str  # `handoff:<from_agent>:<to_agent>`, then ` #2`, ` #3`, ... for later ones
    from_agent: str
    to_agent: str
    manifest_json: str
    project: str | None
    session_id: str | None
    created_at: float
    claimed_at: float | None

    @property
    def manifest(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.manifest_json)
        return parsed

    @property
    def data(self) -> dict[str, Any]:
        return {
            "from_agent": self.from_agent,
            "to_agent": self.to_agent,
            "manifest": self.manifest,
            "project": self.project,
            "session_id": self.session_id,
            "created_at": rfc3339(self.created_at),
            "claimed": self.claimed_at is not None,
            "claimed_at": rfc3339(self.claimed_at) if self.claimed_at is not None else None,
        }


@dataclass(frozen=True)
class ReadEvidence:
    """One recorded read of a file: the reading session's agent label and the call's token estimate."""

    agent: str
    input_tokens_est: int | None


@dataclass(frozen=True)
class TokenSavings:
    unique_agents: int
    estimated_file_tokens: int
    without_sharing: int
    with_sharing: int
    saved: int
    percentage_reduction: float
    knowledge_tokens: int
    recorded_reads: int


@dataclass(frozen=True)
class KnowledgeAbout:
    """Everything recorded about one target (GetKnowledge)."""

    target: str
    project: str | None
    discoveries: list[DiscoveryRow]
    discovery_count: int
    handoffs: list[HandoffRow]
    handoff_count: int
    memories: list[MemoryRow]
    memory_count: int
    token_savings: TokenSavings
    queried_at: float


@dataclass(frozen=True)
class SearchHit:
    entity_id: int
    name: str
    kind: str
    score: float
    data: dict[str, Any]
    snippet: str


@dataclass(frozen=True)
class PurgeCounts:
    deleted_entities: int
    deleted_edges: int
    deleted_documents: int
    dry_run: bool
