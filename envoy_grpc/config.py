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
    # Limits (README "Limits"). Calls per second and burst per agent (0 = no rate limit).
    rate_limit: float = 1000.0
    rate_burst: int = 2000
    # Open Subscribe streams (gRPC, SSE, WebSocket) per agent (0 = no limit).
    max_streams_per_agent: int = 32
    # Pushed-but-unacknowledged deliveries a stream may hold before pushes pause (0 = no limit).
    max_ack_pending: int = 1000
    # Seconds a unary call may run on the server (0 = only the client's deadline).
    request_deadline: float = 60.0
    # TLS for both listeners (PEM files); required off loopback unless insecure_non_loopback.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_non_loopback: bool = False

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

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work, with a message saying why."""
        if self.auth == "trust" and not is_loopback(self.host):
            raise ValueError(
                f"--auth=trust believes any X-Agent-Id header, so it is only allowed on a loopback "
                f"address or a Unix socket; --host is {self.host!r}"
            )
        self._check_tls()
        self._check_limits()
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

    def _check_tls(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together: give both PEM files, or neither")
        for name, path in (("tls-cert", self.tls_cert), ("tls-key", self.tls_key)):
            if path is not None and not path.is_file():
                raise ValueError(f"--{name} {str(path)!r} is not a readable file")
        if not is_loopback(self.host) and not self.tls and not self.insecure_non_loopback:
            raise ValueError(
                f"--host {self.host!r} is reachable from other machines, and without TLS every bearer "
                "token and message crosses the network in clear text. Give --tls-cert and --tls-key "
                "(PEM files), or pass --insecure-non-loopback if a trusted network or a TLS proxy "
                "protects it"
            )

    def _check_limits(self) -> None:
        if self.rate_limit < 0 or (self.rate_limit > 0 and self.rate_burst < 1):
            raise ValueError(
                f"--rate-limit must be 0 (off) or positive and --rate-burst at least 1, not "
                f"{self.rate_limit:g} and {self.rate_burst}"
            )
        if self.max_streams_per_agent < 0 or self.max_ack_pending < 0 or self.request_deadline < 0:
            raise ValueError(
                "--max-streams-per-agent, --max-ack-pending and --request-deadline must be 0 (no limit) "
                "or positive"
            )


# Limits and TLS settings read from the environment: variable -> (Config field, type).
_ENV_SETTINGS: dict[str, tuple[str, type]] = {
    "ENVOY_RATE_LIMIT": ("rate_limit", float),
    "ENVOY_RATE_BURST": ("rate_burst", int),
    "ENVOY_MAX_STREAMS_PER_AGENT": ("max_streams_per_agent", int),
    "ENVOY_MAX_ACK_PENDING": ("max_ack_pending", int),
    "ENVOY_REQUEST_DEADLINE": ("request_deadline", float),
    "ENVOY_TLS_CERT": ("tls_cert", Path),
    "ENVOY_TLS_KEY": ("tls_key", Path),
}


def from_environment(env: dict[str, str] | None = None) -> Config:
    """Defaults overridden by ENVOY_HOST, ENVOY_GRPC_PORT, ENVOY_HTTP_PORT, ENVOY_HOME and the limits
    and TLS variables in `_ENV_SETTINGS` (plus ENVOY_INSECURE_NON_LOOPBACK=1)."""
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
    for name, (attribute, kind) in _ENV_SETTINGS.items():
        if env.get(name):
            try:
                config = replace(config, **{attribute: kind(env[name])})
            except ValueError:
                expected = {int: "a whole number", float: "a number"}.get(kind, "a path")
                raise ValueError(f"{name} must be {expected}, not {env[name]!r}") from None
    if env.get("ENVOY_INSECURE_NON_LOOPBACK", "") in ("1", "true", "yes"):
        config = replace(config, insecure_non_loopback=True)
    return config


def _port(env: dict[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ValueError(f"{name} must be a port number, not {env[name]!r}") from None
