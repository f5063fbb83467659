"""The task state machine, as data: which moves are allowed, and what each move is called.

proposed → claimed → in_progress → waiting_review → done, with the ways back the original envoy had
(a claim can go back to proposed at any point before done, a review can send work back to
in_progress) and a reopen (done → proposed). Setting a held task's current state again only updates
its checkpoint.
"""

from __future__ import annotations

from envoy_grpc import errors

ALLOWED: dict[str, frozenset[str]] = {
    "proposed": frozenset({"claimed"}),
    "claimed": frozenset({"claimed", "in_progress", "proposed"}),
    "in_progress": frozenset({"in_progress", "waiting_review", "proposed"}),
    "waiting_review": frozenset({"waiting_review", "done", "in_progress", "proposed"}),
    "done": frozenset({"proposed"}),
}


def check_move(task_id: int, current: str, wanted: str) -> None:
    """FAILED_PRECONDITION (INVALID_TASK_STATE, HTTP 409) naming both states for a move not allowed."""
    if wanted in ALLOWED[current]:
        return
    allowed = ", ".join(sorted(ALLOWED[current]))
    raise errors.failed_precondition(
        "INVALID_TASK_STATE",
        f"task {task_id} cannot move from {current} to {wanted}; from {current} it may move to {allowed}",
        taskId=str(task_id),
        fromState=current,
        toState=wanted,
    )


def event_name(current: str, wanted: str) -> str:
    """The task event a move records."""
    if wanted == "claimed" and current == "proposed":
        return "task_claimed"
    if wanted == "proposed":
        return "task_released" if current != "done" else "task_reopened"
    return "task_state_changed"
