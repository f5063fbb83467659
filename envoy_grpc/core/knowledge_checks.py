"""Pure rules of the knowledge area: input validation and page tokens.

Validation returns a normalised copy of the input or raises an `EnvoyError` naming the field, with
the limits knowledge.proto documents. Page tokens are opaque to clients: they carry the position of
the last item and a fingerprint of the filters, so a token used with other filters is refused.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.session_checks import limit, optional, required
from envoy_grpc.store.knowledge_types import SCOPES, NewDiscovery, NewHandoff, NewMemory, dumps
from envoy_grpc.store.project_events import AUDIT_PROJECT

MAX_LABEL = 200
MAX_TYPE = 100
MAX_TARGET = 1000
MAX_JSON_BYTES = 1024 * 1024
MAX_CONTENT = 65_536
MAX_QUERY = 1000
_TYPE = re.compile(r"[A-Za-z0-9_.\-]+")


def json_object(field_path: str, value: dict[str, Any]) -> None:
    size = len(dumps(value).encode())
    if size > MAX_JSON_BYTES:
        raise errors.invalid_argument(field_path, f"must be at most 1 MiB as JSON, got {size:,} bytes")


def new_discovery(new: NewDiscovery) -> NewDiscovery:
    required("agent", new.agent, MAX_LABEL)
    required("discovery_type", new.discovery_type, MAX_TYPE)
    if not _TYPE.fullmatch(new.discovery_type):
        raise errors.invalid_argument(
            "discovery_type", "may hold only letters, digits, '_', '-' and '.', such as 'Bug' or 'Decision'"
        )
    required("target", new.target, MAX_TARGET)
    json_object("metadata", new.metadata)
    optional("project", new.project, MAX_LABEL)
    optional("session_id", new.session_id, MAX_LABEL)
    return replace(new, session_id=new.session_id or None)


def new_handoff(new: NewHandoff) -> NewHandoff:
    required("from_agent", new.from_agent, MAX_LABEL)
    required("to_agent", new.to_agent, MAX_LABEL)
    json_object("manifest", new.manifest)
    optional("project", new.project, MAX_LABEL)
    optional("session_id", new.session_id, MAX_LABEL)
    return replace(new, session_id=new.session_id or None)


@dataclass(frozen=True)
class MemoryDraft:
    """A memory as UpsertMemory receives it: the owner still split into project and agent."""

    key: str
    scope: str  # "" when not set
    content: str
    project: str = ""
    agent: str = ""
    confidence: float | None = None  # None means 1.0
    target: str | None = None
    provenance_agent: str = ""
    provenance_session_id: str = ""
    provenance_tool_use_id: str = ""


def owner(scope: str, project: str, agent: str) -> str:
    """The owner of a memory of `scope`: project and agent must fit the scope (named when not)."""
    if scope not in SCOPES:
        raise errors.invalid_argument("scope", "must be one of user, project or agent")
    wanted = {"user": "", "project": "project", "agent": "agent"}[scope]
    for field_path, value in (("project", project), ("agent", agent)):
        if field_path == wanted:
            required(field_path, value, MAX_LABEL)
        elif value:
            raise errors.invalid_argument(field_path, f"must be empty in {scope} scope")
    return project if scope == "project" else agent


def new_memory(draft: MemoryDraft, caller: Caller) -> NewMemory:
    required("key", draft.key, MAX_LABEL)
    if not draft.scope:
        raise errors.missing_fields(["scope"])
    memory_owner = owner(draft.scope, draft.project, draft.agent)
    required("content", draft.content, MAX_CONTENT)
    confidence = 1.0 if draft.confidence is None else draft.confidence
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise errors.invalid_argument("confidence", f"must be from 0.0 to 1.0, got {confidence}")
    if draft.target is not None:
        required("target", draft.target, MAX_TARGET)
    optional("provenance.agent", draft.provenance_agent, MAX_LABEL)
    optional("provenance.session_id", draft.provenance_session_id, MAX_LABEL)
    optional("provenance.tool_use_id", draft.provenance_tool_use_id, MAX_LABEL)
    return NewMemory(
        key=draft.key,
        scope=draft.scope,
        owner=memory_owner,
        content=draft.content,
        confidence=confidence,
        target=draft.target,
        provenance_agent=draft.provenance_agent or caller.describe(),
        provenance_session_id=draft.provenance_session_id,
        provenance_tool_use_id=draft.provenance_tool_use_id,
    )


def search_query(q: str, k: int) -> int:
    """Check `q` and `k`; returns the number of results to give."""
    required("q", q, MAX_QUERY)
    return limit("k", k, default=5, maximum=100)


def purge_subject(project: str, agent: str) -> None:
    if bool(project) == bool(agent):
        raise errors.invalid_argument(
            "project", "give exactly one of project and agent: the project or the agent label to purge"
        )
    optional("project", project, MAX_LABEL)
    optional("agent", agent, MAX_LABEL)
    if project == AUDIT_PROJECT:
        raise errors.invalid_argument("project", f"{AUDIT_PROJECT!r} is the audit log, which is never purged")


# -- page tokens -------------------------------------------------------------------------------


def fingerprint(*fields: Any) -> str:
    return hashlib.sha256("\0".join(str(f) for f in fields).encode()).hexdigest()[:16]


def encode_page_token(kind: str, position: str, stamp: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}|{position}|{stamp}".encode()).decode()


def decode_page_token(token: str, kind: str, stamp: str, rpc: str) -> str | None:
    """The position a token carries; None for no token."""
    if not token:
        return None
    try:
        found_kind, position, found_stamp = base64.urlsafe_b64decode(token.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        found_kind, position, found_stamp = "", "", ""
    if found_kind != kind:
        raise errors.invalid_argument("page_token", f"is not a token returned by a previous {rpc} call")
    if found_stamp != stamp:
        raise errors.invalid_argument(
            "page_token", "was returned for other filters; send the same filters, or ask again without it"
        )
    return position
