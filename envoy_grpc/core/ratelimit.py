"""Per-caller rate limits: one token bucket per agent, checked on every call by the interceptor.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; each call takes one. A
call that finds the bucket empty is refused with RESOURCE_EXHAUSTED and told how long until a token
is back (google.rpc.RetryInfo; the gateway turns it into HTTP 429 with `Retry-After`).

Who gets which bucket:
- an agent: its own bucket, keyed by agent ID (its subagents have their own);
- the hook token: one shared bucket `shared_factor` times larger, because every coding session's
  hooks arrive through it;
- the operator: exempt (it holds operator.token, a 0600 file, and runs administration and backups);
- anonymous callers (only health, stats and registration are public): one bucket per peer address,
  `shared_factor` times larger, because every HTTP caller reaches us from the gateway's address.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from envoy_grpc import errors
from envoy_grpc.core.auth import Caller

# Buckets untouched this long are full again anyway; forgetting them bounds memory.
IDLE_FORGET_SECONDS = 600.0
SWEEP_EVERY = 4096


@dataclass(frozen=True)
class RateLimits:
    """Sustained calls per second and burst size per caller; a rate of 0 turns limiting off."""

    rate: float = 1000.0
    burst: int = 2000
    shared_factor: float = 10.0

    @property
    def enabled(self) -> bool:
        return self.rate > 0


@dataclass
class TokenBucket:
    capacity: float
    rate: float
    tokens: float
    updated: float = field(default=0.0)

    def take(self, now: float) -> float:
        """Take one token; return 0 when granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Token buckets by caller key, refilled lazily on use (no timer task)."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._calls = 0
        # Calls refused so far, for /metrics and tests.
        self.refused = 0

    def check(self, caller: Caller, peer: Callable[[], str]) -> None:
        """Count one call by `caller`; raise RATE_LIMITED when its bucket is empty. `peer` gives the
        caller's address; it is asked only for anonymous callers."""
        if not self.limits.enabled or caller.is_operator:
            return
        key, factor = _bucket_key(caller, peer, self.limits.shared_factor)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity = self.limits.burst * factor
            bucket = TokenBucket(capacity, self.limits.rate * factor, capacity, now)
            self._buckets[key] = bucket
        wait = bucket.take(now)
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:
            self._forget_idle(now)
        if wait > 0:
            self.refused += 1
            raise rate_limited(key, bucket.rate, int(bucket.capacity), wait)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, b in self._buckets.items() if now - b.updated > IDLE_FORGET_SECONDS]
        for key in idle:
            del self._buckets[key]


def _bucket_key(caller: Caller, peer: Callable[[], str], shared_factor: float) -> tuple[str, float]:
    if caller.agent_id is not None:
        return f"agent:{caller.agent_id}", 1.0
    if caller.role == "hook":
        return "hook", shared_factor
    return f"anonymous:{_peer_host(peer())}", shared_factor


def _peer_host(peer: str) -> str:
    """`ipv4:127.0.0.1:5555` -> `ipv4:127.0.0.1` (the port changes per connection)."""
    host, _, port = peer.rpartition(":")
    return host if port.isdigit() and host else peer


def rate_limited(key: str, rate: float, burst: int, wait: float) -> errors.EnvoyError:
    retry_after = max(wait, 0.001)
    return errors.EnvoyError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        f"too many calls from {key.partition(':')[2] or key}: the limit is {rate:g} calls per second "
        f"with bursts of {burst} (--rate-limit, --rate-burst); retry in {math.ceil(retry_after * 1000)} ms",
        metadata={"limit": f"{rate:g}/s", "burst": str(burst), "caller": key},
        retry_delay=retry_after,
    )
