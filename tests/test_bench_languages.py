"""A small run of `python -m bench.languages`: every built client's runner measured side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_side_by_side_bench_measures_python_and_go_and_reports_the_rest() -> None:
    small = ["--count", "40", "--latency-count", "10", "--rate", "50", "--no-save", "--no-pin"]
    result = subprocess.run(
        [sys.executable, "-m", "bench.languages", *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    for lang in ("python", "go"):
        cells = [cell.strip() for cell in rows[lang].split("|")[2:-1]]
        assert float(cells[0].replace(",", "")) > 0, rows[lang]
        assert all("/" in cell for cell in cells[1:]), rows[lang]
    for lang in ("ts", "rust"):  # measured when built, otherwise named as skipped: never left out
        assert lang in rows
