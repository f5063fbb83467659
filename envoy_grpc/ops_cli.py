"""Operator commands that work on the data directory directly: `backup` and `export`.

Both open envoy.db through connections of their own (read-only for the source), so they are safe
while the server is serving and need no token: whoever can read the data directory can run them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from envoy_grpc import config
from envoy_grpc.store import backup as store_backup
from envoy_grpc.store import export as store_export

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The server's data directory [env ENVOY_HOME; default ~/.local/share/envoy-grpc].",
)


def _database(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir / config.DB_FILENAME
    try:
        return config.from_environment().db_path
    except ValueError as error:
        raise click.UsageError(str(error)) from None


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@data_dir_option
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup(file: Path, data_dir: Path | None, force: bool) -> None:
    """Write a consistent copy of envoy.db to FILE, safe while the server runs.

    Uses SQLite's online backup API from a read-only connection, writes FILE atomically
    (a temporary file renamed into place) and checks it with PRAGMA integrity_check. To restore,
    stop the server and copy FILE to <data-dir>/envoy.db (keep operator.token and hook.token too).

    Example: envoy-grpc backup ~/backups/envoy-$(date +%F).db
    """
    try:
        report = store_backup.backup(_database(data_dir), file, force=force)
    except store_backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.describe())


@click.command("export")
@data_dir_option
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=Path("-"),
    show_default=True,
    help="Where to write the JSON lines; - is standard output.",
)
def export(data_dir: Path | None, output: Path) -> None:
    """Write every record as JSON lines (one object per line, with a "kind"), from one snapshot.

    The first line is a header with the format version and the count of each kind. Agents,
    messages with their deliveries, sessions and their evidence, knowledge, leases and tasks;
    no token hashes. Safe while the server runs.

    Example: envoy-grpc export --output envoy.jsonl
    """
    database = _database(data_dir)
    try:
        with _open_output(output) as out:
            report = store_export.export(database, out)
    except store_backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    if str(output) != "-":
        total = sum(report.counts.values())
        click.echo(f"exported {total} records to {output} in {report.seconds:.3f} s", err=True)


@contextlib.contextmanager
def _open_output(output: Path) -> Iterator[TextIO]:
    if str(output) == "-":
        yield sys.stdout
        return
    temporary = output.with_name(f".{output.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            yield handle
        temporary.replace(output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
