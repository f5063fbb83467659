"""Per-agent circuit breakers, as the original envoy has them.

Closed: failures are counted. After `threshold` failures the circuit opens and live pushes to the
agent pause. Once `cooldown` seconds have passed it is half-open: one attempt goes through; a success
closes it, a failure opens it again. A heartbeat closes it with the count at zero. State is kept in
memory: after a restart every circuit starts closed, which is what a fresh start should mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass
class CircuitState:
    state: str = CLOSED
    failure_count: int = 0
    opened_at: float | None = None


class CircuitBreakers:
    """The circuit of every agent, created closed on first use."""

    def __init__(
        self, threshold: int = 5, cooldown: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._circuits: dict[str, CircuitState] = {}

    def get(self, agent_id: str) -> CircuitState:
        """The circuit's state now; an open circuit past its cooldown reads as half-open."""
        circuit = self._circuits.setdefault(agent_id, CircuitState())
        opened_at = circuit.opened_at
        if circuit.state == OPEN and opened_at is not None and self._clock() - opened_at >= self.cooldown:
            circuit.state = HALF_OPEN
        return circuit

    def allows(self, agent_id: str) -> bool:
        """Whether a live push to the agent may be attempted now."""
        return self.get(agent_id).state != OPEN

    def record_failure(self, agent_id: str) -> CircuitState:
        circuit = self.get(agent_id)
        circuit.failure_count += 1
        if circuit.state == HALF_OPEN or circuit.failure_count >= self.threshold:
            circuit.state = OPEN
            circuit.opened_at = self._clock()
        return circuit

    def record_success(self, agent_id: str) -> None:
        circuit = self.get(agent_id)
        if circuit.state == HALF_OPEN:
            self.reset(agent_id)

    def reset(self, agent_id: str) -> CircuitState:
        circuit = self._circuits[agent_id] = CircuitState()
        return circuit

    def forget(self, agent_id: str) -> None:
        self._circuits.pop(agent_id, None)
