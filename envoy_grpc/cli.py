"""The `envoy-grpc` command: run the server, see whether one runs, and operate it over its API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import urllib.error
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from envoy_grpc import __version__, config
from envoy_grpc.client_http import ApiError, Client
from envoy_grpc.logs import setup_logging
from envoy_grpc.mcp_tools.cli import mcp
from envoy_grpc.ops_cli import backup, export


def _environment() -> config.Config:
    try:
        return config.from_environment()
    except ValueError as error:
        raise click.UsageError(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envoy-grpc")
def cli() -> None:
    """envoy-grpc: identity, push messaging, sessions and knowledge for AI coding agents.

    The server speaks gRPC (default 127.0.0.1:9877, with reflection) and HTTP+JSON
    (default 127.0.0.1:9876). Client commands find it through ENVOY_URL.
    """


@cli.command()
@click.option(
    "--host",
    default=None,
    help="Address to listen on [env ENVOY_HOST; default 127.0.0.1]. "
    "Loopback keeps the server private to this machine; use 0.0.0.0 to expose it (registration "
    "then needs the operator token, and --auth=trust is refused).",
)
@click.option(
    "--grpc-port",
    type=int,
    default=None,
    help="gRPC port [env ENVOY_GRPC_PORT; default 9877; 0 = free port].",
)
@click.option(
    "--http-port",
    type=int,
    default=None,
    help="HTTP+JSON gateway port [env ENVOY_HTTP_PORT; default 9876; 0 = free port].",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where envoy.db and the token files live [env ENVOY_HOME; default ~/.local/share/envoy-grpc].",
)
@click.option(
    "--auth",
    type=click.Choice(["token", "trust"]),
    default="token",
    show_default=True,
    help="token: every call carries 'authorization: Bearer <token>'. trust: the X-Agent-Id header "
    "is believed, as the original envoy did (loopback or Unix socket only).",
)
@click.option(
    "--registration",
    type=click.Choice(["open", "operator"]),
    default=None,
    help="open: anyone who can reach the server may register root agents. operator: only with the "
    "operator token. [default: open on loopback, operator otherwise]",
)
@click.option(
    "--max-body",
    type=int,
    default=config.DEFAULT_MAX_BODY,
    show_default=True,
    help="Largest HTTP request body accepted, in bytes (larger gets 413).",
)
@click.option(
    "--socket",
    type=click.Path(path_type=Path),
    default=None,
    help="Also serve gRPC on this Unix socket, for local clients.",
)
@click.option("--no-http", is_flag=True, help="Serve gRPC only, without the HTTP gateway.")
@click.option(
    "--ack-wait",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds a pushed message waits for its ack before it is pushed again.",
)
@click.option(
    "--max-deliver",
    type=int,
    default=5,
    show_default=True,
    help="Pushes of an unacknowledged message before it is dead-lettered.",
)
@click.option(
    "--retention",
    type=float,
    default=7 * 24 * 3600.0,
    show_default=True,
    help="Seconds a finished message (acknowledged, expired or dead-lettered) is kept.",
)
@click.option(
    "--circuit-cooldown",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds an open circuit breaker waits before letting one delivery through.",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds in-flight calls get to finish on SIGTERM/SIGINT.",
)
@click.option(
    "--metrics",
    type=click.Choice(["public", "operator"]),
    default=None,
    help="Who may scrape GET /metrics: public (no token) or operator (the operator token). "
    "[default: public on loopback, operator otherwise]",
)
@click.option(
    "--rate-limit",
    type=float,
    default=None,
    help="Calls per second each agent may make, sustained [env ENVOY_RATE_LIMIT; default 1000; 0 = off]. "
    "The hook token and anonymous callers get 10x, the operator is exempt; over it is RESOURCE_EXHAUSTED / HTTP 429.",
)
@click.option(
    "--rate-burst",
    type=int,
    default=None,
    help="Calls an agent may make at once before the rate applies [env ENVOY_RATE_BURST; default 2000].",
)
@click.option(
    "--max-streams-per-agent",
    type=int,
    default=None,
    help="Open message streams (gRPC, SSE, WebSocket) per agent [env ENVOY_MAX_STREAMS_PER_AGENT; "
    "default 32; 0 = no limit].",
)
@click.option(
    "--max-ack-pending",
    type=int,
    default=None,
    help="Pushed but unacknowledged messages a stream may hold; pushes pause until acks arrive "
    "[env ENVOY_MAX_ACK_PENDING; default 1000; 0 = no limit].",
)
@click.option(
    "--request-deadline",
    type=float,
    default=None,
    help="Seconds a unary call may run on the server; IndexProject is exempt "
    "[env ENVOY_REQUEST_DEADLINE; default 60; 0 = only the client's deadline].",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path),
    default=None,
    help="PEM certificate (chain) for TLS on the gRPC port and the gateway [env ENVOY_TLS_CERT].",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path),
    default=None,
    help="PEM private key for --tls-cert [env ENVOY_TLS_KEY].",
)
@click.option(
    "--insecure-non-loopback",
    is_flag=True,
    default=False,
    help="Listen beyond loopback without TLS (tokens in clear text); only behind a TLS proxy or on a "
    "trusted network [env ENVOY_INSECURE_NON_LOOPBACK=1].",
)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json writes one JSON object per log line.",
)
def serve(
    host: str | None,
    grpc_port: int | None,
    http_port: int | None,
    data_dir: Path | None,
    auth: config.AuthMode,
    registration: config.RegistrationMode | None,
    max_body: int,
    socket: Path | None,
    no_http: bool,
    ack_wait: float,
    max_deliver: int,
    retention: float,
    circuit_cooldown: float,
    shutdown_grace: float,
    metrics: config.MetricsMode | None,
    rate_limit: float | None,
    rate_burst: int | None,
    max_streams_per_agent: int | None,
    max_ack_pending: int | None,
    request_deadline: float | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    insecure_non_loopback: bool,
    log_level: str,
    log_format: str,
) -> None:
    """Run the server in the foreground until SIGTERM or Ctrl-C.

    Example: envoy-grpc serve --grpc-port 0 --http-port 0 --data-dir /tmp/envoy
    """
    from envoy_grpc.server.app import StartupError
    from envoy_grpc.server.app import serve as run_server

    settings = _environment()
    overrides: dict[str, Any] = {
        "host": host,
        "grpc_port": grpc_port,
        "http_port": http_port,
        "data_dir": data_dir,
        "registration": registration,
        "socket": socket,
        "metrics": metrics,
        "rate_limit": rate_limit,
        "rate_burst": rate_burst,
        "max_streams_per_agent": max_streams_per_agent,
        "max_ack_pending": max_ack_pending,
        "request_deadline": request_deadline,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "insecure_non_loopback": insecure_non_loopback or None,
    }
    settings = replace(
        settings,
        **{k: v for k, v in overrides.items() if v is not None},
        auth=auth,
        max_body=max_body,
        http=not no_http,
        circuit_cooldown=circuit_cooldown,
        ack_wait=ack_wait,
        max_deliver=max_deliver,
        retention=retention,
        shutdown_grace=shutdown_grace,
        log_level=log_level.upper(),
        log_format="json" if log_format == "json" else "text",
    )
    setup_logging(settings.log_level, settings.log_format)
    try:
        settings.check()
        asyncio.run(run_server(settings))
    except (StartupError, ValueError) as error:
        logging.getLogger("envoy_grpc").error("%s", error)
        raise SystemExit(1) from None


@cli.command()
def status() -> None:
    """Say whether a server answers at ENVOY_URL and where its data lives.

    Example: ENVOY_URL=http://127.0.0.1:9876 envoy-grpc status
    """
    settings = _environment()
    client = Client.from_environment(settings.data_dir)
    click.echo(f"data directory: {settings.data_dir}")
    click.echo(
        f"database:       {settings.db_path} ({'exists' if settings.db_path.exists() else 'not created yet'})"
    )
    click.echo(f"operator token: {settings.operator_token_path}")
    try:
        health = client.call("GET", "/health", timeout=2)
    except (urllib.error.URLError, OSError, ApiError) as error:
        click.echo(f"server:         not answering at {client.url} ({error})")
        raise SystemExit(1) from None
    click.echo(
        f"server:         {health['status']} at {client.url}, up {health['uptime_seconds']} s, "
        f"{health['agents_online']} agents online, version {health.get('version', '?')}"
    )


def _client(token: str | None) -> Client:
    return Client.from_environment(_environment().data_dir, token)


def _run(client: Client, method: str, path: str, body: Any = None) -> Any:
    try:
        return client.call(method, path, body)
    except ApiError as error:
        raise click.ClickException(str(error)) from None
    except (urllib.error.URLError, OSError) as error:
        raise click.ClickException(f"cannot reach the server at {client.url}: {error}") from None


def _print(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


token_option = click.option(
    "--token", default=None, help="Bearer token [env ENVOY_TOKEN; default the operator token]."
)


@cli.group()
def agents() -> None:
    """Inspect and manage agents through the API."""


@agents.command("list")
@click.option("--kind", default="", help="Only agents of this kind.")
@click.option("--parent", default="", help="Only children of this agent.")
@click.option("--lifecycle", type=click.Choice(["", "active", "retired"]), default="")
@token_option
def agents_list(kind: str, parent: str, lifecycle: str, token: str | None) -> None:
    """List agents in ID order, one per line.

    Example: envoy-grpc agents list --lifecycle active
    """
    client = _client(token)
    page_token = ""
    while True:
        query = f"/agents?kind={kind}&parent_id={parent}&lifecycle={lifecycle}&page_token={page_token}"
        page = _run(client, "GET", query)
        for agent in page["agents"]:
            state = agent["status"]["state"] if agent["status"] else "-"
            click.echo(
                f"{agent['agent_id']:<12} {agent['lifecycle']:<8} {agent['kind']:<10} {state:<15} {agent['name']}"
            )
        page_token = page["next_page_token"]
        if not page_token:
            break


@agents.command("show")
@click.argument("agent_id")
@token_option
def agents_show(agent_id: str, token: str | None) -> None:
    """Print one agent as JSON.

    Example: envoy-grpc agents show id1
    """
    _print(_run(_client(token), "GET", f"/agents/{agent_id}"))


@agents.command("register")
@click.argument("name")
@click.option("--kind", default="custom", show_default=True)
@click.option("--parent", default=None, help="Register a child of this agent.")
@token_option
def agents_register(name: str, kind: str, parent: str | None, token: str | None) -> None:
    """Register an agent and print its ID and token (shown once).

    Example: envoy-grpc agents register reviewer --kind claude
    """
    body: dict[str, Any] = {"name": name, "kind": kind}
    if parent:
        body["parent_id"] = parent
    _print(_run(_client(token), "POST", "/agents", body))


@agents.command("retire")
@click.argument("agent_id")
@token_option
def agents_retire(agent_id: str, token: str | None) -> None:
    """Retire an agent and its descendants (their tokens stop working).

    Example: envoy-grpc agents retire id3
    """
    _print(_run(_client(token), "POST", f"/agents/{agent_id}/retire", {}))


@agents.command("rotate-token")
@click.argument("agent_id")
@token_option
def agents_rotate_token(agent_id: str, token: str | None) -> None:
    """Issue a new token for an agent; the old one stops working.

    Example: envoy-grpc agents rotate-token id1
    """
    _print(_run(_client(token), "POST", f"/agents/{agent_id}/token", {}))


@cli.group()
def hooks() -> None:
    """Install or remove the Claude Code (or Codex, or Cursor) hooks that report sessions to envoy-grpc.

    The hooks run `envoy-grpc hook` (a command hook that forwards each event to the server and
    prints what the server answers) or, with --http, POST to the server's /hooks/claude directly.
    --codex and --cursor write Codex's and Cursor's hooks.json instead (command hooks only).
    """


def _settings_target(project: Path | None, user: bool, local: bool) -> Path:
    from envoy_grpc import hook_install

    if user and (project is not None or local):
        raise click.UsageError(
            "--user writes ~/.claude/settings.json; it cannot go with --project or --local"
        )
    return hook_install.settings_path(project=project, user=user, local=local)


def _load_hook_settings(path: Path) -> dict[str, Any]:
    from envoy_grpc import hook_install

    try:
        return hook_install.load_settings(path)
    except hook_install.SettingsError as error:
        raise click.ClickException(str(error)) from None


project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project directory whose .claude/settings.json to change [default: the current directory].",
)
user_option = click.option("--user", is_flag=True, help="Change ~/.claude/settings.json (all projects).")
local_option = click.option(
    "--local", is_flag=True, help="Change the project's .claude/settings.local.json (not committed) instead."
)
codex_option = click.option(
    "--codex",
    "harness",
    flag_value="codex",
    default=None,
    help="Codex instead of Claude Code: <project>/.codex/hooks.json, or ~/.codex/hooks.json with --user.",
)
cursor_option = click.option(
    "--cursor",
    "harness",
    flag_value="cursor",
    help="Cursor instead of Claude Code: <project>/.cursor/hooks.json, or ~/.cursor/hooks.json with --user.",
)


def _harness_target(harness: str, project: Path | None, user: bool, local: bool) -> Path:
    from envoy_grpc import harness_install

    if local:
        raise click.UsageError(
            "--local is for Claude Code's settings.local.json; leave it out with --" + harness
        )
    if user and project is not None:
        raise click.UsageError(f"--user writes ~/.{harness}/hooks.json; it cannot go with --project")
    find = harness_install.codex_settings_path if harness == "codex" else harness_install.cursor_settings_path
    return find(project, user)


def _report(path: Path, summary: str, changes: list[str], backup: Path | None) -> None:
    click.echo(f"{path}: {summary}")
    for change in changes:
        click.echo(f"  {change}")
    if backup:
        click.echo(f"previous file kept as {backup}")


def _install_harness(harness: str, project: Path | None, user: bool, local: bool, use_command: bool) -> None:
    from envoy_grpc import harness_install, hook_install

    if not use_command:
        raise click.UsageError(f"{harness.capitalize()} runs command hooks only; leave out --http")
    path = _harness_target(harness, project, user, local)
    command = harness_install.command(harness)
    install = harness_install.codex_install if harness == "codex" else harness_install.cursor_install
    try:
        updated, changes = install(_load_hook_settings(path), command)
    except hook_install.SettingsError as error:
        raise click.ClickException(f"{path}: {error}; left unchanged") from None
    if changes:
        _report(path, f"command hooks running: {command}", changes, hook_install.save_settings(path, updated))
    else:
        click.echo(f"{path}: envoy-grpc hooks already installed ({command}); nothing changed")
    if harness == "codex":
        line = harness_install.notify_line(harness_install.notify_argv())
        click.echo(
            "Codex runs a new or changed hook only once you trust it (/hooks in Codex).\n"
            "For Codex builds without hooks, or to record turns without them, add this line to the top of "
            f"~/.codex/config.toml (envoy-grpc does not edit TOML):\n  {line}"
        )
        if harness_install.codex_notify_configured():
            click.echo("note: ~/.codex/config.toml already sets notify; Codex runs only one notify program")
    else:
        click.echo("Cursor loads hooks.json when it starts: restart Cursor to apply.")


@hooks.command("install")
@project_option
@user_option
@local_option
@codex_option
@cursor_option
@click.option(
    "--command/--http",
    "use_command",
    default=True,
    show_default=True,
    help="--command: hooks run `envoy-grpc hook` (reads the hook token itself). --http: Claude Code "
    "POSTs to $ENVOY_URL/hooks/claude itself and needs ENVOY_HOOK_TOKEN in its environment.",
)
def hooks_install(
    project: Path | None, user: bool, local: bool, use_command: bool, harness: str | None
) -> None:
    """Add envoy-grpc's hooks to Claude Code's settings, keeping every other hook and setting.

    Installing again changes nothing; switching between --command and --http replaces ours.
    The file is backed up to settings.json.bak before its first change. --codex and --cursor
    write Codex's or Cursor's hooks.json the same way (and --codex prints the notify line).

    Example: envoy-grpc hooks install --project ~/src/myapp
    """
    from envoy_grpc import hook_install
    from envoy_grpc.client_http import DEFAULT_URL

    if harness:
        _install_harness(harness, project, user, local, use_command)
        return

    path = _settings_target(project, user, local)
    settings = _load_hook_settings(path)
    url = os.environ.get("ENVOY_URL", DEFAULT_URL)
    if use_command:
        command = hook_install.default_command()
        handlers = hook_install.handlers_for(command=command)
        summary = f"command hooks running: {command}"
    else:
        handlers = hook_install.handlers_for(base_url=url)
        summary = f"http hooks posting to {url.rstrip('/')}/hooks/claude"
    try:
        updated, changes = hook_install.install(settings, handlers)
    except hook_install.SettingsError as error:
        raise click.ClickException(f"{path}: {error}; left unchanged") from None
    if not changes:
        click.echo(f"{path}: envoy-grpc hooks already installed ({summary}); nothing changed")
    else:
        backup = hook_install.save_settings(path, updated)
        click.echo(f"{path}: {summary}")
        for change in changes:
            click.echo(f"  {change}")
        if backup:
            click.echo(f"previous file kept as {backup}")
        click.echo("Claude Code applies hooks changed outside it after you review them in its /hooks menu.")
    token_file = _environment().data_dir / config.HOOK_TOKEN_FILENAME
    if not use_command:
        click.echo(
            "The http hooks send $ENVOY_HOOK_TOKEN: start Claude Code with it set, for example\n"
            f'  export ENVOY_HOOK_TOKEN="$(cat {token_file})"'
        )
    if not token_file.exists():
        click.echo(
            f"note: {token_file} does not exist yet; until the server has written it, the server "
            "refuses the hooks' calls (and the hooks carry on without it)"
        )


@hooks.command("uninstall")
@project_option
@user_option
@local_option
@codex_option
@cursor_option
def hooks_uninstall(project: Path | None, user: bool, local: bool, harness: str | None) -> None:
    """Remove envoy-grpc's hooks from Claude Code's (or Codex's, or Cursor's) settings, and nothing else.

    Example: envoy-grpc hooks uninstall --user
    """
    from envoy_grpc import harness_install, hook_install

    path = (
        _harness_target(harness, project, user, local) if harness else _settings_target(project, user, local)
    )
    if not path.exists():
        click.echo(f"{path} does not exist; nothing to remove")
        return
    remove = harness_install.cursor_uninstall if harness == "cursor" else hook_install.uninstall
    try:
        updated, changes = remove(_load_hook_settings(path))
    except hook_install.SettingsError as error:
        raise click.ClickException(f"{path}: {error}; left unchanged") from None
    if not changes:
        click.echo(f"{path}: no envoy-grpc hooks found; nothing changed")
        return
    backup = hook_install.save_settings(path, updated)
    click.echo(f"{path}:")
    for change in changes:
        click.echo(f"  {change}")
    if backup:
        click.echo(f"previous file kept as {backup}")


@cli.group()
def projects() -> None:
    """Register and manage code projects for cross-project search (operator token)."""


@projects.command("add")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, file_okay=False, resolve_path=True))
@click.option("--language", "languages", multiple=True, help="A language of the project (repeatable).")
@click.option(
    "--index-path",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    default=None,
    help="An existing magellan-layout index to read instead of building one.",
)
@token_option
def projects_add(
    name: str, path: str, languages: tuple[str, ...], index_path: str | None, token: str | None
) -> None:
    """Register a project (safe to repeat) and print it.

    Example: envoy-grpc projects add web-app ~/src/web-app --language typescript
    """
    body: dict[str, Any] = {"name": name, "root_path": path, "languages": list(languages)}
    if index_path:
        body["index_path"] = index_path
    _print(_run(_client(token), "POST", "/projects", body))


@projects.command("list")
@click.option("--language", default="", help="Only projects of this language.")
@token_option
def projects_list(language: str, token: str | None) -> None:
    """List projects in name order, one per line.

    Example: envoy-grpc projects list
    """
    client = _client(token)
    page_token = ""
    while True:
        page = _run(client, "GET", f"/projects?language={language}&page_token={page_token}")
        for project in page["projects"]:
            state = "enabled" if project.get("enabled") else "disabled"
            click.echo(
                f"{project['name']:<24} {state:<9} {project.get('symbol_count', 0):>8} symbols  "
                f"{','.join(project.get('languages', [])) or '-':<12} {project['root_path']}"
            )
        page_token = page["next_page_token"]
        if not page_token:
            break


def _set_enabled(name: str, enabled: bool, token: str | None) -> None:
    _print(_run(_client(token), "PATCH", f"/projects/{name}", {"enabled": enabled}))


@projects.command("enable")
@click.argument("name")
@token_option
def projects_enable(name: str, token: str | None) -> None:
    """Include a project in cross-project search again.

    Example: envoy-grpc projects enable web-app
    """
    _set_enabled(name, True, token)


@projects.command("disable")
@click.argument("name")
@token_option
def projects_disable(name: str, token: str | None) -> None:
    """Leave a project out of cross-project search (its index is kept).

    Example: envoy-grpc projects disable web-app
    """
    _set_enabled(name, False, token)


@projects.command("remove")
@click.argument("name")
@token_option
def projects_remove(name: str, token: str | None) -> None:
    """Remove a project and the index the server built for it (never the sources).

    Example: envoy-grpc projects remove web-app
    """
    _print(_run(_client(token), "DELETE", f"/projects/{name}"))


@cli.command("index")
@click.argument("path", type=click.Path(exists=True, file_okay=False, resolve_path=True))
@click.option("--project", "name", required=True, help="The project's name; registered at PATH if new.")
@click.option("--full", is_flag=True, help="Parse every file again, even unchanged ones.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait for the run.")
@token_option
def index_command(path: str, name: str, full: bool, timeout: float, token: str | None) -> None:
    """Index a project's source tree (registering it first if needed) and print what was done.

    Example: envoy-grpc index ~/src/envoy --project envoy
    """
    client = _client(token)
    _run(client, "POST", "/projects", {"name": name, "root_path": path})
    try:
        result = _index_with_progress(client, name, full, timeout)
    except ApiError as error:
        raise click.ClickException(str(error)) from None
    except (urllib.error.URLError, OSError) as error:
        raise click.ClickException(f"cannot reach the server at {client.url}: {error}") from None
    _print(result)


def _index_with_progress(client: Client, name: str, full: bool, timeout: float) -> Any:
    """Run IndexProjectWithProgress, drawing a progress bar on a terminal; return the result."""
    reports = client.events("POST", f"/projects/{name}/index/progress", {"full": full}, timeout=timeout)
    with contextlib.ExitStack() as stack:
        bar: Any = None
        for report in reports:
            if report["phase"] == "done":
                return report["result"]
            if bar is None and report["files_total"]:
                bar = stack.enter_context(
                    click.progressbar(
                        length=report["files_total"], label=f"indexing {name}", file=sys.stderr, show_pos=True
                    )
                )
            if bar is not None:
                bar.update(report["files_done"] - bar.pos)
                if report["phase"] == "saving":
                    bar.label = f"saving {name}"
    raise click.ClickException(f"the server ended the run of {name!r} without a result; see its log")


cli.add_command(mcp)
cli.add_command(backup)
cli.add_command(export)


def main() -> None:
    cli()
