"""Repository functions for the task board: tasks, their blockers and their events.

Writers run on the writer thread inside the caller's transaction; the task core composes them with
the state rules and the announcements into one unit of work, so a claim is a single transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store.coordination_types import TaskEventRow, TaskRow
from envoy_grpc.store.models import database_proxy

COLUMNS = (
    "id, project, title, description, state, claimed_by, claimed_at, checkpoint, proposed_by, created_at, "
    "updated_at"
)
EVENT_COLUMNS = "id, task_id, event, from_state, to_state, agent_id, checkpoint, created_at"
# claim-next: the oldest proposed task of the project none of whose blockers is unfinished. The state
# tests are literal so the (project, state, id) index drives the scan.
_NEXT_CLAIMABLE = (
    "SELECT t.id FROM task AS t WHERE t.project = ? AND t.state = 'proposed' AND NOT EXISTS ("
    "SELECT 1 FROM task_blocker AS b JOIN task AS bt ON bt.id = b.blocker_id "
    "WHERE b.task_id = t.id AND bt.state <> 'done') ORDER BY t.id LIMIT 1"
)


def cursor() -> Any:
    return database_proxy.cursor()


def task_not_found(task_id: int | str, field_path: str = "task_id") -> errors.EnvoyError:
    return errors.not_found(
        "TASK_NOT_FOUND",
        f"no task with ID {str(task_id)!r} ({field_path}); list a project's tasks with GET /tasks?project=",
        taskId=str(task_id),
        field=field_path,
    )


def _blockers(task_id: int) -> tuple[int, ...]:
    rows = cursor().execute(
        "SELECT blocker_id FROM task_blocker WHERE task_id = ? ORDER BY blocker_id", (task_id,)
    )
    return tuple(int(r[0]) for r in rows.fetchall())


def _task(values: Sequence[Any]) -> TaskRow:
    return replace(TaskRow(*values), blocked_by=_blockers(int(values[0])))


def _tasks(rows: Sequence[Sequence[Any]]) -> list[TaskRow]:
    """Rows with their blockers, read in one query for the whole page (no query per task)."""
    if not rows:
        return []
    ids = [int(r[0]) for r in rows]
    marks = ", ".join("?" for _ in ids)
    blockers: dict[int, list[int]] = {}
    for task_id, blocker in (
        cursor()
        .execute(
            f"SELECT task_id, blocker_id FROM task_blocker WHERE task_id IN ({marks}) ORDER BY task_id, blocker_id",
            ids,
        )
        .fetchall()
    ):
        blockers.setdefault(int(task_id), []).append(int(blocker))
    return [replace(TaskRow(*r), blocked_by=tuple(blockers.get(int(r[0]), ()))) for r in rows]


def get(task_id: int) -> TaskRow | None:
    found = cursor().execute(f"SELECT {COLUMNS} FROM task WHERE id = ?", (task_id,)).fetchone()
    return _task(found) if found is not None else None


def existing(task_id: int) -> TaskRow:
    task = get(task_id)
    if task is None:
        raise task_not_found(task_id)
    return task


def insert(
    project: str, title: str, description: str, blocked_by: Sequence[int], proposed_by: str, now: float
) -> TaskRow:
    cur = cursor()
    for index, blocker in enumerate(blocked_by):
        if cur.execute("SELECT 1 FROM task WHERE id = ?", (blocker,)).fetchone() is None:
            raise task_not_found(blocker, f"blocked_by[{index}]")
    task_id = int(
        cur.execute(
            "INSERT INTO task (project, title, description, state, proposed_by, created_at, updated_at) "
            "VALUES (?, ?, ?, 'proposed', ?, ?, ?) RETURNING id",
            (project, title, description, proposed_by, now, now),
        ).fetchone()[0]
    )
    cur.executemany(
        "INSERT OR IGNORE INTO task_blocker (task_id, blocker_id) VALUES (?, ?)",
        [(task_id, blocker) for blocker in blocked_by],
    )
    return existing(task_id)


def update(
    task_id: int,
    state: str,
    claimed_by: str | None,
    claimed_at: float | None,
    checkpoint: str | None,
    now: float,
) -> TaskRow:
    cursor().execute(
        "UPDATE task SET state = ?, claimed_by = ?, claimed_at = ?, checkpoint = ?, updated_at = ? WHERE id = ?",
        (state, claimed_by, claimed_at, checkpoint, now, task_id),
    )
    return existing(task_id)


def next_claimable(project: str) -> int | None:
    found = cursor().execute(_NEXT_CLAIMABLE, (project,)).fetchone()
    return int(found[0]) if found is not None else None


def proposed_count(project: str) -> int:
    sql = "SELECT COUNT(*) FROM task WHERE project = ? AND state = 'proposed'"
    return int(cursor().execute(sql, (project,)).fetchone()[0])


def unfinished_blockers(task_id: int) -> list[int]:
    rows = cursor().execute(
        "SELECT b.blocker_id FROM task_blocker AS b JOIN task AS bt ON bt.id = b.blocker_id "
        "WHERE b.task_id = ? AND bt.state <> 'done' ORDER BY b.blocker_id",
        (task_id,),
    )
    return [int(r[0]) for r in rows.fetchall()]


def claimed_tasks_blocked_by(task_id: int) -> list[TaskRow]:
    """Tasks that wait on `task_id` and have a claimant who should hear that it is done."""
    rows = cursor().execute(
        f"SELECT {', '.join('t.' + c.strip() for c in COLUMNS.split(','))} FROM task_blocker AS b "
        "JOIN task AS t ON t.id = b.task_id WHERE b.blocker_id = ? AND t.claimed_by IS NOT NULL "
        "AND t.state <> 'done' ORDER BY t.id",
        (task_id,),
    )
    return _tasks(rows.fetchall())


def held() -> list[TaskRow]:
    """Tasks claimed or in progress: what the stale-claim sweep looks at."""
    sql = f"SELECT {COLUMNS} FROM task WHERE state IN ('claimed', 'in_progress') AND claimed_by IS NOT NULL"
    return _tasks(cursor().execute(sql).fetchall())


def list_tasks(project: str, state: str, after_id: int, limit: int) -> list[TaskRow]:
    if state:
        sql = f"SELECT {COLUMNS} FROM task WHERE project = ? AND state = ? AND id > ? ORDER BY id LIMIT ?"
        params: tuple[Any, ...] = (project, state, after_id, limit)
    else:
        sql = f"SELECT {COLUMNS} FROM task WHERE project = ? AND id > ? ORDER BY id LIMIT ?"
        params = (project, after_id, limit)
    return _tasks(cursor().execute(sql, params).fetchall())


def add_event(
    task_id: int,
    event: str,
    from_state: str | None,
    to_state: str,
    agent_id: str,
    checkpoint: str | None,
    now: float,
) -> None:
    cursor().execute(
        "INSERT INTO task_event (task_id, event, from_state, to_state, agent_id, checkpoint, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (task_id, event, from_state, to_state, agent_id, checkpoint, now),
    )


def events(task_id: int, limit: int) -> list[TaskEventRow]:
    rows = cursor().execute(
        f"SELECT {EVENT_COLUMNS} FROM task_event WHERE task_id = ? ORDER BY id DESC LIMIT ?", (task_id, limit)
    )
    return [TaskEventRow(*r) for r in rows.fetchall()]
