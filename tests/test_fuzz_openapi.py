"""schemathesis against /openapi.json of a live server: every route, with the operator token.

Checks: no 5xx (`not_a_server_error`) and every response matches the schema where the schema gives
one (`response_schema_conformance`). `make test` runs the fuzzing phase with a fixed seed and a few
examples per route; `make test-long` (ENVOY_TEST_LONG=1) adds the examples, coverage and stateful
phases with a hundred examples per route.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ServerProcess

LONG = os.environ.get("ENVOY_TEST_LONG") == "1"
SEED = 20261125


@pytest.mark.slow
@pytest.mark.timeout(3600 if LONG else 240)
def test_every_route_survives_schemathesis_without_a_5xx_or_a_schema_violation(
    spawn_server: Any, tmp_path: Path
) -> None:
    server: ServerProcess = spawn_server()
    token = (server.data_dir / "operator.token").read_text().strip()
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{server.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing,stateful" if LONG else "fuzzing",
        "--max-examples",
        "100" if LONG else "4",
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "10",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=3500, check=False)
    output = result.stdout + result.stderr
    tried = re.search(r"(\d+) generated, (\d+) passed", output)
    tested = re.search(r"Tested: (\d+)", output)

    assert result.returncode == 0, output[-6000:]
    assert tried, output[-3000:]
    assert tested and int(tested[1]) >= 100, "schemathesis did not reach every route"
    print(f"schemathesis: {tried[1]} requests, {tried[2]} passed")
    assert server.process.poll() is None, "the server died"
