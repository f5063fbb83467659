"""A tiny HTTP+JSON client for the CLI's operator commands (standard library only, so it is fast to
import). It finds the server through ENVOY_URL and a token through --token, ENVOY_TOKEN or the
operator token in the data directory."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9876"


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"HTTP {status} {error.get('code', '')}: {error.get('message', body)}")


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
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            raise ApiError(error.code, parsed) from None
