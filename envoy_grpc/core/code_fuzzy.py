"""Fuzzy symbol matching: names within one or two typing mistakes of the query.

A mistake is an inserted, deleted or replaced letter, or two neighbouring letters swapped (the
optimal string alignment distance, computed by rapidfuzz). Queries of 4 to 8 letters allow one
mistake, longer ones two; shorter ones none.

Candidates are found without scanning. Every string one mistake away from the query (a few hundred
for identifier letters, `ALPHABET`) is looked up by exact name, so one-mistake matches are complete
for those letters. For two mistakes the query is also cut into three pieces: a name two mistakes
away that keeps one piece whole is found through the substring index (two mistakes that break all
three pieces are the case this misses).
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import TypeVar

from rapidfuzz.distance import OSA

MIN_LENGTH = 4
TWO_MISTAKES_FROM = 9
ALPHABET = string.ascii_lowercase + string.digits + "_$"

Row = TypeVar("Row")


def allowed_mistakes(query: str) -> int:
    if len(query) < MIN_LENGTH:
        return 0
    return 2 if len(query) >= TWO_MISTAKES_FROM else 1


def one_mistake_away(query: str) -> set[str]:
    """Every string one insertion, deletion, replacement or neighbour swap away from `query`."""
    letters = set(ALPHABET) | set(query)
    found: set[str] = set()
    for i in range(len(query) + 1):
        head, tail = query[:i], query[i:]
        found.update(head + c + tail for c in letters)
        if tail:
            found.add(head + tail[1:])
            found.update(head + c + tail[1:] for c in letters)
        if len(tail) > 1:
            found.add(head + tail[1] + tail[0] + tail[2:])
    found.discard(query)
    return found


def pieces(query: str, count: int) -> list[str]:
    """`query` cut into `count` nearly equal, non-overlapping parts."""
    size, extra = divmod(len(query), count)
    parts: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        parts.append(query[start:end])
        start = end
    return parts


def closest(query: str, named: Iterable[tuple[str, Row]], mistakes: int) -> list[tuple[int, Row]]:
    """(distance, row) for each lowercased name within `mistakes` of `query`, in input order."""
    found: list[tuple[int, Row]] = []
    for name, row in named:
        distance = OSA.distance(query, name, score_cutoff=mistakes)
        if distance <= mistakes:
            found.append((distance, row))
    return found
