"""`envoy-grpc mcp`: serve the MCP tools on stdio; `envoy-grpc mcp install|uninstall`."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click

from envoy_grpc import config
from envoy_grpc.hook_install import SettingsError

DEFAULT_TARGET = "127.0.0.1:9877"


@click.group(invoke_without_command=True)
@click.option(
    "--grpc",
    "target",
    default=None,
    help=f"The server's gRPC address [env ENVOY_GRPC; default {DEFAULT_TARGET}].",
)
@click.pass_context
def mcp(context: click.Context, target: str | None) -> None:
    """Serve envoy-grpc's MCP tools on stdin/stdout (Claude Code, Codex and Cursor start this).

    The tools act as the coding session's own agent: the one the hooks opened in the same
    harness (found with the hook token), or ENVOY_AGENT_ID with ENVOY_TOKEN, or else a new agent.
    Logs go to stderr.

    Example: envoy-grpc mcp install   (then restart Claude Code)
    """
    if context.invoked_subcommand is not None:
        return
    from envoy_grpc.mcp_tools.connection import StdioConnection
    from envoy_grpc.mcp_tools.server import build

    logging.basicConfig(level=logging.WARNING, format="envoy-grpc mcp: %(message)s")
    data_dir = config.from_environment().data_dir

    async def run() -> None:
        # The gRPC channel belongs to the event loop it is made in: make everything inside it.
        connection = StdioConnection(target or os.environ.get("ENVOY_GRPC", DEFAULT_TARGET), data_dir)
        try:
            await build(connection).run_stdio_async()
        finally:
            await connection.close()

    asyncio.run(run())


scope_options = [
    click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Project whose .mcp.json to change [default: the current directory].",
    ),
    click.option("--user", is_flag=True, help="Change ~/.claude.json instead (every project)."),
]


def _with_scope(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(scope_options):
        function = option(function)
    return function


@mcp.command("install")
@_with_scope
def mcp_install(project: Path | None, user: bool) -> None:
    """Add the envoy-grpc MCP server to Claude Code's configuration (safe to repeat).

    Example: envoy-grpc mcp install --project ~/src/myapp
    """
    from envoy_grpc.mcp_tools import install

    path = install.config_path(project, user)
    entry = install.server_entry()
    try:
        changed = install.install(path, entry)
    except (ValueError, SettingsError) as error:
        raise click.ClickException(str(error)) from None
    state = "added" if changed else "already there; nothing changed"
    click.echo(f"{path}: MCP server {install.SERVER_NAME!r} {state} ({entry['command']} mcp)")
    click.echo(install.other_harnesses(entry))


@mcp.command("uninstall")
@_with_scope
def mcp_uninstall(project: Path | None, user: bool) -> None:
    """Remove the envoy-grpc MCP server from Claude Code's configuration, and nothing else."""
    from envoy_grpc.mcp_tools import install

    path = install.config_path(project, user)
    try:
        removed = install.uninstall(path)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path}: {'removed' if removed else 'not found; nothing changed'}")
