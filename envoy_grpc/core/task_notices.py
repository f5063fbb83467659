"""How task changes are told: the task as JSON, and the topic message on `project.<name>`.

Announcements are written in the caller's transaction (by `project_events.announce`) and published
after COMMIT by the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from envoy_grpc.core import topics
from envoy_grpc.store import notices
from envoy_grpc.store import project_events as events_store
from envoy_grpc.store.coordination_types import TaskRow
from envoy_grpc.store.messages import DeliveryView


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def task_json(task: TaskRow) -> dict[str, Any]:
    """The task as the HTTP API shows it, for the data part of an announcement."""
    return {
        "id": str(task.task_id),
        "project": task.project,
        "title": task.title,
        "description": task.description,
        "state": task.state,
        "claimed_by": task.claimed_by,
        "blocked_by": [str(b) for b in task.blocked_by],
        "checkpoint": task.checkpoint,
        "proposed_by": task.proposed_by,
        "created_at": rfc3339(task.created_at),
        "updated_at": rfc3339(task.updated_at),
    }


def label(task: TaskRow) -> str:
    return task.title or (task.description[:80] + ("…" if len(task.description) > 80 else ""))


def announce(kind: str, task: TaskRow, sender: str, text: str, now: float) -> list[DeliveryView]:
    """A topic message on `project.<name>` to the project's subscribers (none if the name is not a topic)."""
    topic = topics.project_topic(task.project)
    if topics.subject_problem(topic) is not None:
        return []
    parts: list[dict[str, Any]] = [
        {"text": f"[{task.project}] {text}"},
        {"data": {"kind": kind, "task": task_json(task)}},
    ]
    return events_store.announce(sender or notices.SERVER, topic, parts, now)
