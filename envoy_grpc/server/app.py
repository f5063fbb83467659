"""Assemble and run the server: storage, registry, gRPC services, health, reflection, gateway.

`start(config)` returns a running server with its bound ports (port 0 picks a free one), so tests
call it directly; `serve(config)` adds signal handling and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import stat
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from envoy_grpc.config import Config, is_loopback
from envoy_grpc.core import tokens
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Authenticator
from envoy_grpc.core.bus import Bus
from envoy_grpc.core.circuit import CircuitBreakers
from envoy_grpc.core.code import Code
from envoy_grpc.core.dependencies import Dependencies
from envoy_grpc.core.graph import Graph
from envoy_grpc.core.graph_projector import GraphProjector
from envoy_grpc.core.hook_identity import HookIdentities
from envoy_grpc.core.hooks import HookAdapter
from envoy_grpc.core.knowledge import Knowledge
from envoy_grpc.core.lease_guard import LeaseGuard
from envoy_grpc.core.leases import Leases, LeaseSettings
from envoy_grpc.core.messaging import DeliverySettings, Messaging
from envoy_grpc.core.ratelimit import RateLimiter, RateLimits
from envoy_grpc.core.sessions import Sessions
from envoy_grpc.core.tasks import Tasks, TaskSettings
from envoy_grpc.gen.envoy.v1 import (
    agents_pb2_grpc,
    code_pb2_grpc,
    dependencies_pb2_grpc,
    graph_pb2_grpc,
    hooks_pb2_grpc,
    knowledge_pb2_grpc,
    leases_pb2_grpc,
    messages_pb2_grpc,
    sessions_pb2_grpc,
    system_pb2_grpc,
    tasks_pb2_grpc,
)
from envoy_grpc.server import methods, reflection, tls
from envoy_grpc.server.handler_table import HandlerTable
from envoy_grpc.server.interceptor import EnvoyInterceptor
from envoy_grpc.server.metrics import Metrics
from envoy_grpc.server.metrics_wiring import metrics_endpoint, server_metrics
from envoy_grpc.services import unimplemented
from envoy_grpc.services.agents import AgentService
from envoy_grpc.services.code import CodeService
from envoy_grpc.services.dependencies import DependencyService
from envoy_grpc.services.graph import GraphService
from envoy_grpc.services.hooks import HookService
from envoy_grpc.services.knowledge import KnowledgeService
from envoy_grpc.services.leases import LeaseService
from envoy_grpc.services.messages import MessageService
from envoy_grpc.services.sessions import ProjectEventService, SessionService
from envoy_grpc.services.system import SystemService
from envoy_grpc.services.tasks import TaskService
from envoy_grpc.store.db import Database
from gateway.app import Gateway

log = logging.getLogger(__name__)

IMPLEMENTED = {
    "envoy.v1.AgentService",
    "envoy.v1.SystemService",
    "envoy.v1.MessageService",
    "envoy.v1.HookService",
    "envoy.v1.SessionService",
    "envoy.v1.ProjectEventService",
    "envoy.v1.GraphService",
    "envoy.v1.KnowledgeService",
    "envoy.v1.CodeService",
    "envoy.v1.LeaseService",
    "envoy.v1.TaskService",
    "envoy.v1.DependencyService",
}

# Options for many long-lived streams (reference/grpc-python-notes.md §2.8). so_reuseport is off so
# that a second server on the same port fails instead of silently sharing it.
SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_concurrent_streams", 20_000),
    ("grpc.server.max_pending_requests", 20_000),
    ("grpc.server.max_pending_requests_hard_limit", 40_000),
]


class StartupError(RuntimeError):
    """The server could not start; the message says why and what to do."""


@dataclass
class RunningServer:
    config: Config
    db: Database
    registry: AgentRegistry
    messaging: Messaging
    # The session-accountability core, for in-process callers such as the hook adapter.
    sessions: Sessions
    # Discoveries, memories, handoffs and search; `await knowledge.catch_up()` indexes what is recorded.
    knowledge: Knowledge
    # The knowledge graph; `await graph.catch_up()` projects everything recorded so far into it.
    graph: Graph
    # Code projects, their indexes, and cross-project search and navigation.
    code: Code
    # File leases (`leases.check(project, path, agent_id)` answers from memory), the task board, and
    # dependencies between agents.
    leases: Leases
    tasks: Tasks
    dependencies: Dependencies
    grpc_server: grpc.aio.Server
    health: health_aio.HealthServicer
    system: SystemService
    grpc_port: int
    # Prometheus counters and gauges (served as GET /metrics by the gateway).
    metrics: Metrics
    authenticator: Authenticator
    http_port: int | None = None
    gateway: Gateway | None = None
    # Per-caller token buckets (None when --rate-limit 0).
    limiter: RateLimiter | None = None
    # Where the gateway reaches the gRPC server: a loopback plaintext port when the public one is TLS.
    gateway_target: str | None = None
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def grpc_target(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"[{host}]:{self.grpc_port}" if ":" in host else f"{host}:{self.grpc_port}"

    async def stop(self, grace: float | None = None) -> None:
        """Shut down in order: health NOT_SERVING, gateway, streams, gRPC server, writer, database."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.config.shutdown_grace if grace is None else grace
        self.system.shutting_down = True
        await self.health.enter_graceful_shutdown()
        # Streams end first, with UNAVAILABLE, so the gateway can still tell SSE and WebSocket
        # clients why; then the gateway stops taking requests.
        await self.messaging.close()
        if self.gateway is not None:
            await self.gateway.stop()
        await self.grpc_server.stop(grace)
        await self.leases.close()
        await self.tasks.close()
        await self.graph.projector.stop()
        await self.knowledge.close()
        await self.db.close()
        self.code.close()
        log.info("server stopped")

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


async def _register_health(table: HandlerTable) -> health_aio.HealthServicer:
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, table)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    for service in methods.services():
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if service.full_name in IMPLEMENTED
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await health.set(service.full_name, status)
    return health


def _bind(server: grpc.aio.Server, config: Config) -> int:
    address = (
        f"[{config.host}]:{config.grpc_port}" if ":" in config.host else f"{config.host}:{config.grpc_port}"
    )
    try:
        if config.tls:
            port = int(server.add_secure_port(address, tls.server_credentials(config)))
        else:
            port = int(server.add_insecure_port(address))
    except RuntimeError as error:
        raise StartupError(
            f"cannot listen for gRPC on {address}: {error}. Is another envoy-grpc already running there? "
            f"Stop it, or pick another port with --grpc-port (0 picks a free one)."
        ) from None
    if port == 0:
        raise StartupError(f"cannot listen for gRPC on {address}; is the port in use? Try --grpc-port 0")
    if config.socket is not None:
        config.socket.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            config.socket.unlink()
        server.add_insecure_port(f"unix:{config.socket}")
    return port


def _prepare_data_dir(config: Config) -> None:
    """Create the data directory private to this user (0700): it holds the database and the tokens."""
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(config.data_dir.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "the data directory %s is accessible to other users (mode %o): they may read the database "
            "and the token files; chmod 700 it",
            config.data_dir,
            mode,
        )


async def start(config: Config) -> RunningServer:
    """Open the database, start the gRPC server and the gateway; return once both accept calls."""
    config.check()
    _prepare_data_dir(config)
    operator_token = tokens.load_or_create_token_file(config.operator_token_path)
    hook_token = tokens.load_or_create_token_file(config.hook_token_path)
    db = Database(config.db_path, readers=config.reader_threads)
    await db.open()
    circuits = CircuitBreakers(config.circuit_threshold, config.circuit_cooldown)
    registry = AgentRegistry(db, circuits)
    await registry.load()
    authenticator = Authenticator(config.auth, registry, operator_token, hook_token)
    settings = DeliverySettings(
        ack_wait=config.ack_wait,
        max_deliver=config.max_deliver,
        retention=config.retention,
        redelivery_interval=config.redelivery_interval,
        max_streams_per_agent=config.max_streams_per_agent,
        max_ack_pending=config.max_ack_pending,
    )
    messaging = Messaging(db, registry, Bus(circuits.allows), settings)
    messaging.start()
    sessions = Sessions(db, messaging.bus)
    knowledge = Knowledge(db)
    # Navigate searches with the knowledge area's full-text search.
    graph = Graph(db, GraphProjector(db), search=knowledge.entity_search)
    code = Code(db, config.data_dir)
    leases = Leases(
        db,
        registry,
        LeaseSettings(config.lease_ttl, config.lease_max_ttl, config.coordination_sweep_interval),
    )
    await leases.load()
    registry.on_retire(leases.release_retired)
    tasks = Tasks(
        db,
        registry,
        messaging.bus,
        TaskSettings(config.task_claim_timeout, config.coordination_sweep_interval),
    )
    dependencies = Dependencies(db, registry, messaging.bus)
    metrics = server_metrics(db, registry, messaging)
    limiter = RateLimiter(RateLimits(config.rate_limit, config.rate_burst)) if config.rate_limit > 0 else None
    interceptor = EnvoyInterceptor(
        authenticator, methods.method_table(), metrics, limiter, config.request_deadline
    )
    server = grpc.aio.server(interceptors=[interceptor], options=SERVER_OPTIONS)
    table = HandlerTable()
    system = SystemService(registry, messaging)
    agents_pb2_grpc.add_AgentServiceServicer_to_server(
        AgentService(registry, config.registration_mode == "open"), table
    )
    system_pb2_grpc.add_SystemServiceServicer_to_server(system, table)
    messages_pb2_grpc.add_MessageServiceServicer_to_server(MessageService(messaging), table)
    sessions_pb2_grpc.add_SessionServiceServicer_to_server(SessionService(sessions, leases), table)
    graph_pb2_grpc.add_GraphServiceServicer_to_server(GraphService(graph), table)
    sessions_pb2_grpc.add_ProjectEventServiceServicer_to_server(ProjectEventService(sessions), table)
    hooks_pb2_grpc.add_HookServiceServicer_to_server(
        HookService(
            HookAdapter(sessions, messaging, HookIdentities(registry), LeaseGuard(leases, messaging))
        ),
        table,
    )
    knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(KnowledgeService(knowledge), table)
    code_pb2_grpc.add_CodeServiceServicer_to_server(CodeService(code), table)
    leases_pb2_grpc.add_LeaseServiceServicer_to_server(LeaseService(leases), table)
    tasks_pb2_grpc.add_TaskServiceServicer_to_server(TaskService(tasks), table)
    dependencies_pb2_grpc.add_DependencyServiceServicer_to_server(DependencyService(dependencies), table)
    table.add_generic_rpc_handlers(
        [unimplemented.generic_handler(s) for s in methods.services() if s.full_name not in IMPLEMENTED]
    )
    health = await _register_health(table)
    service_names = [s.full_name for s in methods.services()]
    reflection.enable(table, [*service_names, "grpc.health.v1.Health"])
    server.add_generic_rpc_handlers([table])
    try:
        grpc_port = _bind(server, config)
        # The gateway calls the gRPC API in plaintext over loopback when the public port speaks TLS.
        internal_port = server.add_insecure_port("127.0.0.1:0") if config.tls and config.http else None
    except StartupError:
        await messaging.close()
        await db.close()
        raise
    await server.start()
    knowledge.start()
    graph.projector.start()
    leases.start()
    tasks.start()
    running = RunningServer(
        config,
        db,
        registry,
        messaging,
        sessions,
        knowledge,
        graph,
        code,
        leases,
        tasks,
        dependencies,
        server,
        health,
        system,
        grpc_port,
        metrics,
        authenticator,
        limiter=limiter,
    )
    if internal_port:
        running.gateway_target = f"127.0.0.1:{internal_port}"
    log.info("gRPC listening on %s:%d%s", config.host, grpc_port, " (TLS)" if config.tls else "")
    if config.http:
        await _start_gateway(running)
    return running


async def _start_gateway(running: RunningServer) -> None:
    config = running.config
    gateway = Gateway(
        running.gateway_target or running.grpc_target,
        max_body=config.max_body,
        metrics=metrics_endpoint(config, running.metrics, running.db, running.authenticator),
    )
    ssl_context = tls.gateway_context(config) if config.tls else None
    try:
        running.http_port = await gateway.start(config.host, config.http_port, ssl_context)
    except OSError as error:
        await running.stop(0)
        raise StartupError(
            f"cannot listen for HTTP on {running.config.host}:{running.config.http_port}: {error.strerror}. "
            f"Is another envoy-grpc already running there? Pick another port with --http-port (0 picks a free one)."
        ) from None
    running.gateway = gateway
    tls_note = " (HTTPS)" if ssl_context else ""
    log.info("HTTP gateway listening on %s:%d%s", config.host, running.http_port, tls_note)


async def serve(config: Config) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    running = await start(config)
    mode = "open" if config.registration_mode == "open" else "operator only"
    if not is_loopback(config.host) and not config.tls:
        log.warning(
            "INSECURE: listening on %s without TLS (--insecure-non-loopback): bearer tokens and messages "
            "cross the network in clear text; use --tls-cert/--tls-key or a TLS proxy",
            config.host,
        )
    log.info(
        "envoy-grpc ready: data in %s, auth=%s, registration %s%s",
        config.data_dir,
        config.auth,
        mode,
        "" if is_loopback(config.host) else " (listening beyond loopback)",
    )
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    try:
        await stop_requested.wait()
        log.info("shutting down (grace %.1f s)", config.shutdown_grace)
    finally:
        await running.stop()
