"""The routing table, built at start-up from the `google.api.http` annotations in the descriptors.

No route is written by hand: each RPC's rule (and its `additional_bindings`) becomes a Route with a
compiled path template. Routes with more literal segments win over routes with variables, so
`/messages/batch` is matched before `/messages/{message_id}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf import message_factory

from envoy_grpc.server.methods import MethodInfo

_VARIABLE = re.compile(r"\{([\w.]+)(?:=([^}]+))?\}")
VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC."""

    verb: str
    template: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]
    body: str
    response_body: str
    method: MethodInfo
    request_class: type[_message.Message]
    response_class: type[_message.Message]

    @property
    def streaming(self) -> bool:
        return bool(self.method.descriptor.server_streaming)

    @property
    def rpc_path(self) -> str:
        return self.method.path

    @property
    def literal_segments(self) -> int:
        return sum(1 for segment in self.template.split("/") if segment and "{" not in segment)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {name: found.group(f"v{index}") for index, name in enumerate(self.variables)}


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """`/agents/{agent_id}/retire` → (a regex with one group per variable, ("agent_id",))."""
    variables: list[str] = []
    parts: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(template):
        parts.append(re.escape(template[position : found.start()]))
        segments = (found.group(2) or "*").split("/")
        body = "/".join("[^/]+" if s == "*" else ".+" if s == "**" else re.escape(s) for s in segments)
        parts.append(f"(?P<v{len(variables)}>{body})")
        variables.append(found.group(1))
        position = found.end()
    parts.append(re.escape(template[position:]))
    return re.compile("^" + "".join(parts) + "/?$"), tuple(variables)


def _rules(rule: http_pb2.HttpRule) -> Iterable[http_pb2.HttpRule]:
    yield rule
    yield from rule.additional_bindings


def _route(rule: http_pb2.HttpRule, info: MethodInfo) -> Route | None:
    verb = rule.WhichOneof("pattern")
    if verb not in VERBS:
        return None
    template = getattr(rule, verb)
    pattern, variables = compile_template(template)
    descriptor: _descriptor.MethodDescriptor = info.descriptor
    return Route(
        verb=verb.upper(),
        template=template,
        pattern=pattern,
        variables=variables,
        body=rule.body,
        response_body=rule.response_body,
        method=info,
        request_class=message_factory.GetMessageClass(descriptor.input_type),
        response_class=message_factory.GetMessageClass(descriptor.output_type),
    )


def build_routes(methods: Iterable[MethodInfo]) -> list[Route]:
    routes: list[Route] = []
    for info in methods:
        options = info.descriptor.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        for rule in _rules(options.Extensions[annotations_pb2.http]):
            route = _route(rule, info)
            if route is not None:
                routes.append(route)
    routes.sort(key=lambda r: (-r.literal_segments, len(r.variables)))
    return routes


@dataclass(frozen=True)
class Match:
    route: Route
    variables: dict[str, str]


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    def find(self, verb: str, path: str) -> Match | list[str]:
        """The matching route, or the verbs allowed on `path` (empty if no route has the path)."""
        allowed: list[str] = []
        for route in self.routes:
            variables = route.match(path)
            if variables is None:
                continue
            if route.verb == verb or (verb == "HEAD" and route.verb == "GET"):
                return Match(route, variables)
            allowed.append(route.verb)
        return sorted(set(allowed))


def describe(routes: Iterable[Route]) -> list[dict[str, Any]]:
    return [
        {"method": r.verb, "path": r.template, "rpc": r.rpc_path.strip("/"), "streaming": r.streaming}
        for r in routes
    ]
