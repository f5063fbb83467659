"""A tiny HTTP+JSON client for the CLI's operator commands (standard library only, so it is fast to
import). It finds the server through ENVOY_URL and a token through --token, ENVOY_TOKEN or the
operator token in the data directory."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9876"


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        where = f"HTTP {status}" if status else "stream error"
        super().__init__(f"{where} {error.get('code', '')}: {error.get('message', body)}")


@dataclass
class Client:
    url: str
    token: str | None

    @classmethod
    def from_environment(cls, data_dir: Path, token: str | None = None) -> Client:
        url = os.environ.get("ENVOY_URL", DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("ENVOY_TOKEN")
        if not token:
            path = data_dir / "operator.token"
            if path.exists():
                token = path.read_text().strip()
        return cls(url, token)

    def call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        try:
            with urllib.request.urlopen(self._request(method, path, body), timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise _api_error(error) from None

    def events(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Iterator[Any]:
        """The data of each `message` event of a Server-Sent Events response; an `error` event raises
        ApiError. `timeout` bounds each wait for the next line, not the whole stream."""
        try:
            with urllib.request.urlopen(self._request(method, path, body), timeout=timeout) as response:
                event = ""
                for raw in response:
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                        if event == "error":
                            raise ApiError(0, data)  # the stream had started with 200
                        yield data
        except urllib.error.HTTPError as error:
            raise _api_error(error) from None

    def _request(self, method: str, path: str, body: Any) -> urllib.request.Request:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        return request


def _api_error(error: urllib.error.HTTPError) -> ApiError:
    raw = error.read()
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return ApiError(error.code, parsed)
