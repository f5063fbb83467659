"""Hierarchical agent IDs: `id1`, its children `id1.1`, `id1.2`, their children `id1.1.1`, ...

Pure functions; allocation itself (which number comes next) lives in the store, inside the
transaction that creates the agent.
"""

from __future__ import annotations

import re

AGENT_ID_PATTERN = re.compile(r"^id[1-9][0-9]*(?:\.[1-9][0-9]*)*$")
_SEGMENT_WIDTH = 10


def root_id(number: int) -> str:
    if number < 1:
        raise ValueError(f"root agent numbers start at 1, not {number}")
    return f"id{number}"


def child_id(parent_id: str, number: int) -> str:
    if number < 1:
        raise ValueError(f"child agent numbers start at 1, not {number}")
    return f"{parent_id}.{number}"


def is_agent_id(value: str) -> bool:
    return AGENT_ID_PATTERN.match(value) is not None


def parent_of(agent_id: str) -> str | None:
    head, dot, _ = agent_id.rpartition(".")
    return head if dot else None


def is_ancestor(ancestor_id: str, agent_id: str) -> bool:
    """True if `ancestor_id` is a proper ancestor of `agent_id` (`id1` of `id1.2.3`, not of `id12`)."""
    return agent_id.startswith(ancestor_id + ".")


def sort_key(agent_id: str) -> str:
    """A string that sorts agents in ID order: `id2` before `id10`, a parent before its children."""
    numbers = agent_id[2:].split(".")
    return ".".join(n.zfill(_SEGMENT_WIDTH) for n in numbers)
