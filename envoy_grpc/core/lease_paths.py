"""Lease paths: normalising what a client sent, and deciding whether two paths or globs overlap.

Globs are fnmatch-style and case-sensitive (`fnmatch.fnmatchcase`): `*` matches any run of characters
including `/`, `?` one character, `[abc]` one of a set. A path overlaps a path when they are equal and
a glob when the glob matches it. Two globs overlap unless their literal prefixes (before the first
wildcard) are not prefixes of one another, or their literal suffixes (after the last wildcard) are not
suffixes of one another: any path both match starts with both prefixes and ends with both suffixes.
The rule may report an overlap no real path has (`a?` and `a??` share none), but never misses one,
which is the safe way round for a lock.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from envoy_grpc import errors

MAX_PATH = 1024
_WILDCARDS = frozenset("*?[")
_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize(raw: str, field_path: str = "path") -> str:
    """The canonical form of a project-relative path or glob, or INVALID_ARGUMENT naming the field.

    Backslashes become `/`, `./` and repeated slashes go; a trailing `/` means the whole directory
    (`src/` is stored as `src/*`). Absolute paths and `..` segments are refused.
    """
    path = raw.strip().replace("\\", "/")
    if not path:
        raise errors.missing_fields([field_path])
    if len(path) > MAX_PATH:
        raise errors.invalid_argument(field_path, f"must be at most {MAX_PATH} characters, got {len(path)}")
    if path.startswith(("/", "~")) or _DRIVE.match(path):
        raise errors.invalid_argument(
            field_path,
            f"must be relative to the project root, not absolute: {raw!r}",
            reason="PATH_NOT_RELATIVE",
        )
    segments = path.split("/")
    if ".." in segments:
        raise errors.invalid_argument(
            field_path, f"must stay inside the project: {raw!r} has a '..' segment", reason="PATH_TRAVERSAL"
        )
    directory = path.endswith("/")
    path = posixpath.normpath(path)
    if path == ".":
        if directory:
            return "*"
        raise errors.invalid_argument(field_path, "must name a file, a directory or a glob, not '.'")
    return f"{path}/*" if directory else path


def is_glob(path: str) -> bool:
    return any(char in _WILDCARDS for char in path)


def _literal_prefix(glob: str) -> str:
    for index, char in enumerate(glob):
        if char in _WILDCARDS:
            return glob[:index]
    return glob


def _literal_suffix(glob: str) -> str:
    for index in range(len(glob) - 1, -1, -1):
        if glob[index] in "*?]":
            return glob[index + 1 :]
    return glob


@lru_cache(maxsize=65536)
def _regex(glob: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(glob))


@dataclass(frozen=True)
class PathPattern:
    """A normalised path or glob with what overlap tests need, computed once."""

    path: str
    glob: bool
    prefix: str
    suffix: str
    match: Callable[[str], object]

    @classmethod
    def of(cls, path: str) -> PathPattern:
        if not is_glob(path):
            return cls(path, False, path, path, path.__eq__)
        return cls(path, True, _literal_prefix(path), _literal_suffix(path), _regex(path).match)

    def overlaps(self, other: PathPattern) -> bool:
        if not self.glob:
            return bool(other.match(self.path))
        if not other.glob:
            return bool(self.match(other.path))
        return _compatible(self, other)


def _compatible(a: PathPattern, b: PathPattern) -> bool:
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return prefixes and suffixes


def overlaps(a: str, b: str) -> bool:
    """Whether two normalised paths or globs may cover a common path."""
    return PathPattern.of(a).overlaps(PathPattern.of(b))
