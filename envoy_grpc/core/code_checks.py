"""Input rules of the code area: project names, languages, paths and update masks."""

from __future__ import annotations

import os
import re
from pathlib import Path

from envoy_grpc import errors
from envoy_grpc.store.code_index import check_index

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
LANGUAGE = re.compile(r"[a-z0-9][a-z0-9_+#.\-]{0,31}")
MAX_LANGUAGES = 16
MAX_QUERY = 200
UPDATABLE = ("enabled", "languages", "root_path", "index_path")


def name(value: str, field_path: str = "name") -> str:
    if not value:
        raise errors.missing_fields([field_path])
    if not NAME.fullmatch(value):
        raise errors.invalid_argument(
            field_path,
            "must be 1 to 100 letters, digits, '_', '-' or '.', starting with a letter or digit",
        )
    return value


def languages(values: list[str]) -> list[str]:
    if len(values) > MAX_LANGUAGES:
        raise errors.invalid_argument(
            "languages", f"must have at most {MAX_LANGUAGES} entries, got {len(values)}"
        )
    result: list[str] = []
    for value in values:
        lowered = value.strip().lower()
        if not LANGUAGE.fullmatch(lowered):
            raise errors.invalid_argument(
                "languages", f"{value!r} is not a language name (1 to 32 lowercase letters, digits, '_+#.-')"
            )
        if lowered not in result:
            result.append(lowered)
    return result


def _plain_absolute(field_path: str, raw: str) -> Path:
    if not raw:
        raise errors.missing_fields([field_path])
    if "\x00" in raw or not os.path.isabs(raw) or ".." in Path(raw).parts:
        raise errors.invalid_argument(
            field_path,
            f"must be an absolute path without '..' segments, got {raw!r}",
            reason="INVALID_PATH",
        )
    return Path(raw).resolve()


def root_path(raw: str) -> str:
    """An existing directory, absolute, no `..`, with symbolic links resolved. Blocking: use a thread."""
    resolved = _plain_absolute("root_path", raw)
    if not resolved.is_dir():
        raise errors.invalid_argument(
            "root_path", f"{raw!r} is not an existing directory", reason="INVALID_PATH"
        )
    return str(resolved)


def index_path(raw: str) -> str:
    """An existing magellan-layout SQLite file, opened read-only to check. Blocking: use a thread."""
    resolved = _plain_absolute("index_path", raw)
    if not resolved.is_file():
        raise errors.invalid_argument(
            "index_path", f"{raw!r} is not an existing file", reason="INVALID_INDEX"
        )
    problem = check_index(str(resolved))
    if problem is not None:
        raise errors.invalid_argument("index_path", problem.message, reason="INVALID_INDEX")
    return str(resolved)


def query(value: str) -> str:
    if not value:
        raise errors.missing_fields(["q"])
    if len(value) > MAX_QUERY:
        raise errors.invalid_argument("q", f"must be at most {MAX_QUERY} characters, got {len(value)}")
    return value


def update_paths(paths: list[str] | None, set_fields: list[str]) -> list[str]:
    """The fields an update changes: the mask's (`*` is all four), or those set when there is none."""
    if paths is None:
        return set_fields
    result: list[str] = []
    for path in paths:
        if path == "*":
            return list(UPDATABLE)
        if path not in UPDATABLE:
            raise errors.invalid_argument(
                "update_mask",
                f"{path!r} cannot be changed; use one of {', '.join(UPDATABLE)} or '*'",
            )
        if path not in result:
            result.append(path)
    return result
