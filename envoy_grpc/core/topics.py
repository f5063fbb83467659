"""NATS-style subjects and patterns: `.` separates tokens, `*` matches one token, `>` the rest.

`project.envoy.*` matches `project.envoy.ci` but not `project.envoy.ci.build`; `ci.>` matches
`ci.build` and `ci.build.linux` but not `ci` itself.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_LENGTH = 255


def subject_problem(subject: str) -> str | None:
    """Why `subject` is not a valid topic to publish to, or None if it is."""
    if not subject or len(subject) > MAX_LENGTH:
        return f"must be 1 to {MAX_LENGTH} characters"
    for token in subject.split("."):
        if not _TOKEN.match(token):
            return "must be tokens of letters, digits, '-' and '_' separated by '.', without wildcards"
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid subscription pattern, or None if it is."""
    if not pattern or len(pattern) > MAX_LENGTH:
        return f"must be 1 to {MAX_LENGTH} characters"
    tokens = pattern.split(".")
    for index, token in enumerate(tokens):
        if token == ">" and index != len(tokens) - 1:
            return "'>' may only be the last token"
        if token not in ("*", ">") and not _TOKEN.match(token):
            return "must be tokens of letters, digits, '-', '_', '*' or a final '>' separated by '.'"
    return None


def matches(pattern: str, subject: str) -> bool:
    """Whether a valid `pattern` matches a valid `subject`."""
    pattern_tokens = pattern.split(".")
    subject_tokens = subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens):
            return False
        if token != "*" and token != subject_tokens[index]:
            return False
    return len(subject_tokens) == len(pattern_tokens)


def project_topic(project: str) -> str:
    """The topic the original envoy's project subscriptions map to."""
    return f"project.{project}"
