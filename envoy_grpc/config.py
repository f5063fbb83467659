"""Server configuration: defaults, then environment, then flags (the CLI applies flags last)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

AuthMode = Literal["token", "trust"]
RegistrationMode = Literal["open", "operator"]
MetricsMode = Literal["public", "operator"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_GRPC_PORT = 9877
DEFAULT_HTTP_PORT = 9876
DEFAULT_MAX_BODY = 1024 * 1024
DB_FILENAME = "envoy.db"
OPERATOR_TOKEN_FILENAME = "operator.token"
HOOK_TOKEN_FILENAME = "hook.token"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "envoy-grpc"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Config:
    """Everything `envoy-grpc serve` can be told. Port 0 picks a free port."""

    host: str = DEFAULT_HOST
    grpc_port: int = DEFAULT_GRPC_PORT
    http_port: int = DEFAULT_HTTP_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    auth: AuthMode = "token"
    registration: RegistrationMode | None = None
    max_body: int = DEFAULT_MAX_BODY
    socket: Path | None = None
    http: bool = True
    circuit_threshold: int = 5
    ack_wait: float = 30.0
    max_deliver: int = 5
    retention: float = 7 * 24 * 3600.0
    # How often the redelivery loop looks for deliveries whose ack wait ran out.
    redelivery_interval: float = 1.0
    circuit_cooldown: float = 60.0
    shutdown_grace: float = 5.0
    reader_threads: int = 4
    # File leases: the time to live when a client asks for none, and the longest one allowed.
    lease_ttl: float = 15 * 60.0
    lease_max_ttl: float = 24 * 3600.0
    # A task claimed by an agent silent (no call, no heartbeat) this long goes back to the board.
    task_claim_timeout: float = 10 * 60.0
    # How often expired leases and stale task claims are swept.
    coordination_sweep_interval: float = 15.0
    # Who may scrape GET /metrics: None = anyone on a loopback bind, the operator token otherwise.
    metrics: MetricsMode | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def operator_token_path(self) -> Path:
        return self.data_dir / OPERATOR_TOKEN_FILENAME

    @property
    def hook_token_path(self) -> Path:
        return self.data_dir / HOOK_TOKEN_FILENAME

    @property
    def registration_mode(self) -> RegistrationMode:
        """Open on loopback unless told otherwise; closed (operator only) anywhere else."""
        if self.registration is not None:
            return self.registration
        return "open" if is_loopback(self.host) else "operator"

    @property
    def metrics_mode(self) -> MetricsMode:
        """Public on loopback unless told otherwise; operator token only anywhere else."""
        if self.metrics is not None:
            return self.metrics
        return "public" if is_loopback(self.host) else "operator"

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work, with a message saying why."""
        if self.auth == "trust" and not is_loopback(self.host):
            raise ValueError(
                f"--auth=trust believes any X-Agent-Id header, so it is only allowed on a loopback "
                f"address or a Unix socket; --host is {self.host!r}"
            )
        for name, port in (("grpc-port", self.grpc_port), ("http-port", self.http_port)):
            if not 0 <= port <= 65535:
                raise ValueError(f"--{name} must be between 0 and 65535, not {port}")
        if self.ack_wait <= 0 or self.max_deliver < 1 or self.retention < 0:
            raise ValueError(
                "--ack-wait must be positive, --max-deliver at least 1, --retention not negative"
            )
        if not 0 < self.lease_ttl <= self.lease_max_ttl or self.task_claim_timeout <= 0:
            raise ValueError(
                "lease_ttl must be positive and at most lease_max_ttl; task_claim_timeout positive"
            )
        if self.coordination_sweep_interval <= 0:
            raise ValueError("coordination_sweep_interval must be positive")
        if self.max_body < 1024:
            raise ValueError(f"--max-body must be at least 1024 bytes, not {self.max_body}")


def from_environment(env: dict[str, str] | None = None) -> Config:
    """Defaults overridden by ENVOY_HOST, ENVOY_GRPC_PORT, ENVOY_HTTP_PORT and ENVOY_HOME."""
    env = dict(os.environ) if env is None else env
    config = Config()
    if "ENVOY_HOST" in env:
        config = replace(config, host=env["ENVOY_HOST"])
    if "ENVOY_GRPC_PORT" in env:
        config = replace(config, grpc_port=_port(env, "ENVOY_GRPC_PORT"))
    if "ENVOY_HTTP_PORT" in env:
        config = replace(config, http_port=_port(env, "ENVOY_HTTP_PORT"))
    if env.get("ENVOY_HOME"):
        config = replace(config, data_dir=Path(env["ENVOY_HOME"]).expanduser())
    return config


def _port(env: dict[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ValueError(f"{name} must be a port number, not {env[name]!r}") from None
