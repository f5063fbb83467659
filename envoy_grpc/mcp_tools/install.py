"""`envoy-grpc mcp install`: add the MCP server to Claude Code's configuration, and say how for
Codex and Cursor. Claude Code reads project servers from `<project>/.mcp.json` and user servers from
the `mcpServers` table of `~/.claude.json`; both are merged, never replaced, and backed up first."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from envoy_grpc.hook_install import find_script, load_settings, save_settings

SERVER_NAME = "envoy-grpc"


def server_entry(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The MCP server definition: our console script with `mcp`, carrying ENVOY_GRPC and ENVOY_HOME if set."""
    env = dict(os.environ) if env is None else env
    entry: dict[str, Any] = {"type": "stdio", "command": find_script(sys.argv[0]), "args": ["mcp"]}
    passed = {name: env[name] for name in ("ENVOY_GRPC", "ENVOY_HOME") if env.get(name)}
    if passed:
        entry["env"] = passed
    return entry


def config_path(project: Path | None, user: bool) -> Path:
    if user:
        return Path.home() / ".claude.json"
    return (project or Path.cwd()) / ".mcp.json"


def install(path: Path, entry: dict[str, Any]) -> bool:
    """Add or update our server in the file; False when it was already there as is."""
    config = load_settings(path)
    servers = config.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise ValueError(f"{path}: `mcpServers` must be an object; left unchanged")
    if servers.get(SERVER_NAME) == entry:
        return False
    servers[SERVER_NAME] = entry
    save_settings(path, config)
    return True


def uninstall(path: Path) -> bool:
    config = load_settings(path)
    servers = config.get("mcpServers")
    if not isinstance(servers, dict) or SERVER_NAME not in servers:
        return False
    del servers[SERVER_NAME]
    save_settings(path, config)
    return True


def other_harnesses(entry: dict[str, Any]) -> str:
    """What to add for Codex (~/.codex/config.toml) and Cursor (.cursor/mcp.json)."""
    command = shlex.quote(entry["command"])
    env = "".join(f'\n{k} = "{v}"' for k, v in entry.get("env", {}).items())
    codex = f'[mcp_servers.{SERVER_NAME}]\ncommand = "{entry["command"]}"\nargs = ["mcp"]'
    if env:
        codex += f"\n[mcp_servers.{SERVER_NAME}.env]{env}"
    cursor = f'{{"mcpServers": {{"{SERVER_NAME}": {{"command": "{entry["command"]}", "args": ["mcp"]}}}}}}'
    return (
        f"Codex: add to ~/.codex/config.toml\n{codex}\n"
        f"  (or run: codex mcp add {SERVER_NAME} -- {command} mcp)\n"
        f"Cursor: add to .cursor/mcp.json (or ~/.cursor/mcp.json)\n{cursor}"
    )
