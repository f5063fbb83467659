"""The lease path rules as pure functions: normalisation, and an overlap test that never misses a
path two leases share (checked against fnmatch itself on generated globs and paths)."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envoy_grpc import errors
from envoy_grpc.core.lease_paths import normalize, overlaps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("src/a.py", "src/a.py"),
        ("./src//a.py", "src/a.py"),
        ("src\\pkg\\a.py", "src/pkg/a.py"),
        ("src/", "src/*"),
        ("  docs/*.md ", "docs/*.md"),
        ("src/./a.py", "src/a.py"),
    ],
)
def test_paths_are_normalised(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["../a", "a/../../b", "a/..", "/abs", "~/x", "D:/x", ".", ""])
def test_paths_leaving_the_project_are_refused(raw: str) -> None:
    with pytest.raises(errors.EnvoyError) as raised:
        normalize(raw)
    assert raised.value.violations[0].field == "path"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("src/a.py", "src/a.py", True),
        ("src/a.py", "src/b.py", False),
        ("src/*", "src/pkg/a.py", True),
        ("src/*.py", "src/a.md", False),
        ("src/*.py", "src/pkg/*", True),
        ("src/*.py", "docs/*", False),
        ("*.py", "*.md", False),
        ("*", "anything/at/all", True),
        ("src/[ab].py", "src/a.py", True),
        ("src/[ab].py", "src/c.py", False),
    ],
)
def test_overlap_examples(a: str, b: str, expected: bool) -> None:
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


_GLOB = st.text(alphabet="ab/.*?", min_size=1, max_size=6)
_PATH = st.text(alphabet="ab/.", min_size=1, max_size=8)


@settings(max_examples=2000, deadline=None)
@given(_GLOB, _GLOB, _PATH)
def test_overlap_never_misses_a_shared_path(a: str, b: str, path: str) -> None:
    if fnmatchcase(path, a) and fnmatchcase(path, b):
        assert overlaps(a, b), (a, b, path)
