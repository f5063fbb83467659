"""Crash safety: kill -9 the server three times under mixed load (fixed seed), then check every invariant.

The fast slice of `python -m bench.faults` (which `make test-long` runs with dozens of kills).
tests/test_reliability.py kills once mid-sends; this one mixes sends, acks, hook ingest and graph
writes, restarts on the same data directory and ports, and checks the store after each kill.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bench import fault_checks, faults
from bench.fault_checks import Findings

SEED = 20261125


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_three_kills_under_mixed_load_keep_every_invariant(tmp_path: Path) -> None:
    report = await faults.run(tmp_path / "data", kills=3, seed=SEED)
    print(report.text())

    assert report.findings.ok, report.text()
    assert report.invariants >= 10
    ledger = report.ledger
    assert min(len(ledger.sends), len(ledger.acks), len(ledger.tool_calls), len(ledger.discoveries)) > 0
    assert ledger.failed_attempts > 0, "no call ever failed: the kills did not land under load"


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_the_checks_catch_a_lost_write_a_gap_and_a_broken_file(tmp_path: Path) -> None:
    report = await faults.run(tmp_path / "data", kills=0, seed=SEED)
    db_path = tmp_path / "data" / "envoy.db"
    lost = dataclasses.replace(report.ledger, sends={**report.ledger.sends, "never-sent": ("999999", "id4")})
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.execute("UPDATE delivery SET sequence = sequence + 1 WHERE id = (SELECT MAX(id) FROM delivery)")

    findings = Findings()
    fault_checks.check_store(db_path, lost, [], findings)

    assert findings.problems["acknowledged sends present"], (
        "a confirmed send missing from the store went unseen"
    )
    assert findings.problems["every send delivered at least once"]
    assert findings.problems["per-recipient sequences gap-free"], "a sequence gap went unseen"
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'delivery'").fetchone()[0]
    with db_path.open("r+b") as raw:
        raw.seek((root - 1) * page_size)
        raw.write(b"\xff" * 16)  # scribble over the b-tree header of the delivery table's root page
    assert fault_checks.integrity(db_path), "a corrupted page passed integrity_check"
