"""The parameters of a run, shared by the runner and the scenarios; all of them are written to the results."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Closed-loop parameters first, then the sizes of the messaging scenarios."""

    duration_s: float
    warmup_s: float
    concurrency: int
    channels: int
    call_timeout_s: float
    # Messaging (defaults are the sizes the targets of issue 3 are stated for).
    push_rate: float = 500.0
    push_ack: bool = True
    batch_size: int = 500
    batch_callers: int = 4
    poll_interval_s: float = 1.0
    poll_rate: float = 20.0
    poll_duration_s: float = 10.0
    broadcast_subscribers: int = 1000
    broadcast_rounds: int = 5
    idle_streams: int = 10_000
    idle_channels: int = 16
