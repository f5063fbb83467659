"""The invariants the fault harness checks against the ledger and the SQLite file.

Each check returns a list of problems (empty = held). They read the database file directly (after
the server stopped, or read-only while it runs): the question is what the store kept, not what one
API happens to show.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.fault_load import Ledger

GRAPH_SOURCES = {"session_event": "session_event", "message": "message", "project_event": "project_event"}
INDEX_SOURCES = ("session", "session_prompt", "session_tool_call", "session_handover", "message")


@dataclass
class Findings:
    """Problems by invariant name; every checked invariant has an entry, empty when it held."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    raw_duplicates: int = 0  # deliveries of a message the same receiver had already seen

    def add(self, name: str, problems: list[str]) -> None:
        self.problems.setdefault(name, []).extend(problems)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def summary(self) -> str:
        lines = [
            f"  {name}: {'ok' if not found else f'{len(found)} problems, e.g. {found[:3]}'}"
            for name, found in self.problems.items()
        ]
        return "\n".join(lines)


def integrity(db_path: Path) -> list[str]:
    """`PRAGMA integrity_check` and `foreign_key_check` on the file, as the next start would open it."""
    try:
        with contextlib.closing(sqlite3.connect(db_path)) as connection, connection:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as error:  # "database disk image is malformed" before any row
        return [f"cannot check: {error}"]
    problems = [] if result == ["ok"] else [f"integrity_check: {result[:5]}"]
    return problems + [f"foreign key: {row}" for row in foreign[:5]]


def check_store(
    db_path: Path, ledger: Ledger, final_replay: list[tuple[str, str]], findings: Findings
) -> None:
    """Every invariant that needs only the ledger and the file."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db, db:
        findings.add("acknowledged sends present", _sends_present(db, ledger))
        findings.add("one message per idempotency key", _sends_unique(db))
        findings.add("every send delivered at least once", _delivered(ledger, final_replay))
        findings.add("acked stays acked, never replayed", _acks_hold(db, ledger, final_replay))
        findings.add("per-recipient sequences gap-free", _sequences(db, ledger))
        findings.add("hook tool calls present once", _tool_calls(db, ledger))
        findings.add("sessions and discoveries present once", _graph_writes(db, ledger))
    findings.raw_duplicates = _raw_duplicates(ledger, final_replay)


def _sends_present(db: sqlite3.Connection, ledger: Ledger) -> list[str]:
    rows = db.execute(
        "SELECT m.idempotency_key, m.id, d.agent_id FROM message m JOIN delivery d ON d.message_id = m.id"
    )
    stored = {key: (str(message_id), agent) for key, message_id, agent in rows}
    return [
        f"{key}: told {told}, stored {stored.get(key)}"
        for key, told in ledger.sends.items()
        if stored.get(key) != told
    ]


def _sends_unique(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT idempotency_key, COUNT(*) FROM message WHERE idempotency_key IS NOT NULL "
        "GROUP BY idempotency_key HAVING COUNT(*) > 1"
    )
    return [f"key {key} stored {count} times" for key, count in rows]


def _delivered(ledger: Ledger, final_replay: list[tuple[str, str]]) -> list[str]:
    seen = {(d.agent_id, d.message_id) for d in ledger.deliveries} | set(final_replay)
    return [
        f"{key} ({message_id} to {agent}) never delivered"
        for key, (message_id, agent) in ledger.sends.items()
        if (agent, message_id) not in seen
    ]


def _acks_hold(db: sqlite3.Connection, ledger: Ledger, final_replay: list[tuple[str, str]]) -> list[str]:
    replayed = set(final_replay)
    problems = [f"acked {pair} replayed after restart" for pair in ledger.acks if pair in replayed]
    states = {
        (agent, str(message_id)): state
        for agent, message_id, state in db.execute("SELECT agent_id, message_id, state FROM delivery")
    }
    problems += [
        f"acked {pair} is {states.get(pair)} in the store"
        for pair in ledger.acks
        if states.get(pair) != "acked"
    ]
    return problems


def _sequences(db: sqlite3.Connection, ledger: Ledger) -> list[str]:
    problems: list[str] = []
    by_agent: dict[str, list[int]] = collections.defaultdict(list)
    stored: dict[tuple[str, str], int] = {}
    for agent, message_id, sequence in db.execute("SELECT agent_id, message_id, sequence FROM delivery"):
        by_agent[agent].append(sequence)
        stored[(agent, str(message_id))] = sequence
    for agent, sequences in by_agent.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            problems.append(f"{agent}: sequences are not 1..{len(sequences)} (gap or repeat)")
    for d in ledger.deliveries:
        if stored.get((d.agent_id, d.message_id)) != d.sequence_id:
            problems.append(f"{d} was pushed with a sequence the store does not have")
    return problems


def _tool_calls(db: sqlite3.Connection, ledger: Ledger) -> list[str]:
    counts = collections.Counter(row[0] for row in db.execute("SELECT tool_use_id FROM session_tool_call"))
    return [
        f"tool call {tool_use_id} stored {counts[tool_use_id]} times"
        for tool_use_id in ledger.tool_calls
        if counts[tool_use_id] != 1
    ]


def _graph_writes(db: sqlite3.Connection, ledger: Ledger) -> list[str]:
    sessions = {row[0] for row in db.execute("SELECT session_id FROM session")}
    problems = [f"session {sid} missing" for sid in ledger.sessions if sid not in sessions]
    discoveries = collections.defaultdict(list)
    for discovery_id, target in db.execute("SELECT id, target FROM discovery"):
        discoveries[target].append(discovery_id)
    problems += [
        f"discovery {target}: told {told}, stored {discoveries.get(target)}"
        for target, told in ledger.discoveries.items()
        if discoveries.get(target) != [told]
    ]
    return problems


def _raw_duplicates(ledger: Ledger, final_replay: list[tuple[str, str]]) -> int:
    counts = collections.Counter([(d.agent_id, d.message_id) for d in ledger.deliveries] + final_replay)
    return sum(count - 1 for count in counts.values())


def projection_lag(db_path: Path) -> dict[str, int]:
    """Rows not yet projected into the graph or the search index, per cursor (all 0 = caught up)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db, db:
        counters = dict(db.execute("SELECT name, value FROM counter"))
        lag: dict[str, int] = {}
        for source in GRAPH_SOURCES:
            newest = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {source}").fetchone()[0]
            lag[f"graph_projection.{source}"] = newest - int(counters.get(f"graph_projection.{source}", 0))
        for source in INDEX_SOURCES:
            newest = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {source}").fetchone()[0]
            lag[f"knowledge_index.{source}"] = newest - int(counters.get(f"knowledge_index.{source}", 0))
    return lag


def wait_for_projections(db_path: Path, timeout: float, alive: Callable[[], bool]) -> list[str]:
    """Poll until every projector cursor equals its source's newest ID; a cursor past it is a bug."""
    deadline = time.monotonic() + timeout
    while True:
        lag = projection_lag(db_path)
        ahead = [f"{name} is {-behind} rows past its source" for name, behind in lag.items() if behind < 0]
        if ahead:
            return ahead
        if all(behind == 0 for behind in lag.values()):
            return []
        if time.monotonic() > deadline or not alive():
            return [
                f"{name} still {behind} rows behind after {timeout:.0f} s"
                for name, behind in lag.items()
                if behind
            ]
        time.sleep(0.2)
