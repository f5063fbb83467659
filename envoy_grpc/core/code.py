"""Code projects: the registry, indexing, and cross-project search and navigation.

The servicer (CodeService) calls this API; every method takes the `Caller` first. Errors are
`EnvoyError`s naming the field: FIELD_REQUIRED, INVALID_ARGUMENT, INVALID_PATH, INVALID_INDEX,
PROJECT_NOT_FOUND, PROJECT_ALREADY_EXISTS, INDEX_IN_PROGRESS, ROOT_PATH_MISSING, INDEX_UNREADABLE,
OPERATOR_ONLY.

    code = running.code                                              # a Code, on RunningServer

    await code.register_project(caller, NewProject(...)) -> (ProjectRow, is_new)   # operator only
    await code.list_projects(caller, language, enabled, page_size, page_token) -> (rows, token)
    await code.get_project(caller, name) -> ProjectRow
    await code.update_project(caller, name, ProjectChange(...), mask) -> ProjectRow
    await code.delete_project(caller, name, allow_missing) -> bool                 # operator only
    await code.index_project(caller, name, full) -> IndexResult                    # operator only
    await code.search(caller, q, language, k, kind, project) -> SearchResult
    await code.navigate(caller, q, language, k, depth, max_nodes, project) -> NavigateResult

SQL runs on the writer thread (changes) or reader threads (queries); parsing a source tree and
reading a project's index run in worker threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import grpc

from envoy_grpc import errors
from envoy_grpc.code.indexer import index_project
from envoy_grpc.core import code_checks as checks
from envoy_grpc.core import code_search
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.code_search import NavigateResult, SearchResult
from envoy_grpc.core.knowledge_checks import decode_page_token, encode_page_token, fingerprint
from envoy_grpc.core.session_checks import limit
from envoy_grpc.core.sessions import StrictClock
from envoy_grpc.store import code as store
from envoy_grpc.store.code import ProjectRow
from envoy_grpc.store.code_index import (
    IndexedSymbol,
    IndexPool,
    IndexUnreadableError,
    count_kinds,
    load_symbols,
)
from envoy_grpc.store.db import Database

T = TypeVar("T")
# Called with (files looked at, files in all) from the indexing thread.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class NewProject:
    name: str
    root_path: str
    languages: list[str]
    index_path: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class ProjectChange:
    """The values of an UpdateProject body; which of them apply is the mask's business."""

    enabled: bool | None = None
    languages: tuple[str, ...] = ()
    root_path: str = ""
    index_path: str = ""


@dataclass(frozen=True)
class IndexResult:
    project: str
    files: int
    skipped: int
    removed: int
    symbols: int
    calls: int
    imports: int
    references: int
    seconds: float


def project_not_found(name: str) -> errors.EnvoyError:
    return errors.not_found("PROJECT_NOT_FOUND", f"no project named {name!r} (name)", project=name)


def _operator(caller: Caller, what: str) -> None:
    if not caller.is_operator:
        raise errors.permission_denied(
            f"only the operator may {what} (use the token in operator.token)", reason="OPERATOR_ONLY"
        )


class Code:
    def __init__(
        self,
        db: Database,
        data_dir: Path,
        pool: IndexPool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.index_dir = data_dir / "code"
        self.pool = pool or IndexPool()
        self._now = StrictClock(clock)
        self._indexing: set[str] = set()

    def close(self) -> None:
        self.pool.close()

    async def _write(self, unit: Callable[[float], T]) -> T:
        return await self.db.write(lambda: unit(self._now()))

    def default_index(self, name: str) -> str:
        return str((self.index_dir / f"{name}.db").absolute())

    async def _get(self, name: str) -> ProjectRow:
        found = await self.db.read(lambda: store.get_project(name))
        if found is None:
            raise project_not_found(name)
        return found

    # -- registry ------------------------------------------------------------------------------

    async def register_project(self, caller: Caller, new: NewProject) -> tuple[ProjectRow, bool]:
        _operator(caller, "register a project")
        name = checks.name(new.name)
        languages = checks.languages(new.languages)
        root = await asyncio.to_thread(checks.root_path, new.root_path)
        external = bool(new.index_path)
        index = (
            await asyncio.to_thread(checks.index_path, new.index_path or "")
            if external
            else self.default_index(name)
        )
        existing = await self.db.read(lambda: store.get_project(name))
        if existing is not None:
            return _same_or_conflict(existing, root, index, external), False
        symbols: list[IndexedSymbol] = []
        files, found_languages = 0, list[str]()
        if external:
            symbols, files, found_languages = await self._load(index, root, "index_path")

        def unit(now: float) -> tuple[ProjectRow, bool]:
            again = store.get_project(name)
            if again is not None:
                return _same_or_conflict(again, root, index, external), False
            row = ProjectRow(
                name,
                root,
                languages or found_languages,
                index,
                external,
                True if new.enabled is None else new.enabled,
                files,
                len(symbols),
                now,
                now,
                now if external else None,
            )
            store.insert_project(row)
            if external:
                store.replace_symbols(name, symbols)
            return row, True

        return await self._write(unit)

    async def _load(
        self, index: str, root: str, field_path: str
    ) -> tuple[list[IndexedSymbol], int, list[str]]:
        try:
            return await asyncio.to_thread(load_symbols, index, root)
        except IndexUnreadableError as error:
            raise errors.invalid_argument(field_path, error.problem.message, reason="INVALID_INDEX") from None

    async def list_projects(
        self,
        unused_caller: Caller,
        language: str,
        enabled: bool | None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[ProjectRow], str]:
        size = limit("page_size", page_size, default=100, maximum=1000)
        stamp = fingerprint(language.lower(), enabled)
        after = decode_page_token(page_token, "projects", stamp, "ListProjects") or ""
        rows = await self.db.read(lambda: store.list_projects(language, enabled, after, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        return rows, encode_page_token("projects", rows[-1].name, stamp) if more else ""

    async def get_project(self, unused_caller: Caller, name: str) -> ProjectRow:
        return await self._get(checks.name(name))

    async def update_project(
        self, caller: Caller, name: str, change: ProjectChange, mask: list[str] | None
    ) -> ProjectRow:
        checks.name(name)
        set_fields = [
            f
            for f, present in (
                ("enabled", change.enabled is not None),
                ("languages", bool(change.languages)),
                ("root_path", bool(change.root_path)),
                ("index_path", bool(change.index_path)),
            )
            if present
        ]
        paths = checks.update_paths(mask, set_fields)
        if "root_path" in paths or "index_path" in paths:
            _operator(caller, "change a project's root_path or index_path")
        languages = checks.languages(list(change.languages)) if "languages" in paths else None
        current = await self._get(name)
        root = await asyncio.to_thread(checks.root_path, change.root_path) if "root_path" in paths else None
        new_index: str | None = None
        symbols: list[IndexedSymbol] | None = None
        files, found_languages = 0, list[str]()
        if "index_path" in paths and change.index_path:
            new_index = await asyncio.to_thread(checks.index_path, change.index_path)
            if new_index != current.index_path or not current.external:
                symbols, files, found_languages = await self._load(
                    new_index, root or current.root_path, "index_path"
                )

        def unit(now: float) -> ProjectRow:
            row = store.get_project(name)
            if row is None:
                raise project_not_found(name)
            updated = row
            if "enabled" in paths:
                updated = replace(updated, enabled=bool(change.enabled))
            if languages is not None:
                updated = replace(updated, languages=languages)
            clear = False
            if root is not None and root != row.root_path:
                updated = replace(updated, root_path=root)
                clear = not row.external
            if "index_path" in paths:
                if new_index is None and row.external:  # back to an index the server builds
                    updated = replace(updated, index_path=self.default_index(name), external=False)
                    clear = True
                elif symbols is not None and new_index is not None:
                    store.replace_symbols(name, symbols)
                    updated = replace(
                        updated,
                        index_path=new_index,
                        external=True,
                        file_count=files,
                        symbol_count=len(symbols),
                        last_indexed_at=now,
                        languages=updated.languages or found_languages,
                    )
            if clear:
                store.clear_symbols(name)
                updated = replace(updated, file_count=0, symbol_count=0, last_indexed_at=None)
            if updated != row:
                updated = replace(updated, updated_at=now)
                store.save_project(updated)
            return updated

        return await self._write(unit)

    async def delete_project(self, caller: Caller, name: str, allow_missing: bool = False) -> bool:
        _operator(caller, "remove a project")
        checks.name(name)
        if name in self._indexing:
            raise errors.EnvoyError(
                grpc.StatusCode.ABORTED,
                "INDEX_IN_PROGRESS",
                f"project {name!r} is being indexed; remove it when the run ends",
            )
        row = await self._write(lambda now: _delete(name))
        if row is None:
            if allow_missing:
                return False
            raise project_not_found(name)
        self.pool.forget(row.index_path)
        if not row.external:
            await asyncio.to_thread(_unlink, row.index_path)
        return True

    # -- indexing ------------------------------------------------------------------------------

    async def index_project(
        self, caller: Caller, name: str, full: bool = False, progress: Progress | None = None
    ) -> IndexResult:
        """Index a project; `progress(files_done, files_total)` is called from a worker thread."""
        _operator(caller, "index a project")
        checks.name(name)
        row = await self._get(name)
        if name in self._indexing:
            raise errors.EnvoyError(
                grpc.StatusCode.ABORTED,
                "INDEX_IN_PROGRESS",
                f"project {name!r} is already being indexed; try again when that run ends",
                metadata={"project": name},
            )
        self._indexing.add(name)
        try:
            return await self._index(row, full, progress)
        finally:
            self._indexing.discard(name)

    async def _index(self, row: ProjectRow, full: bool, progress: Progress | None) -> IndexResult:
        started = time.perf_counter()
        files = skipped = removed = 0
        if not row.external:
            if not await asyncio.to_thread(os.path.isdir, row.root_path):
                raise errors.failed_precondition(
                    "ROOT_PATH_MISSING",
                    f"the source tree {row.root_path} of project {row.name!r} is gone",
                    project=row.name,
                )
            Path(row.index_path).parent.mkdir(parents=True, exist_ok=True)
            if full:
                self.pool.forget(row.index_path)
                await asyncio.to_thread(_unlink, row.index_path)
            stats = await asyncio.to_thread(
                index_project, Path(row.root_path), Path(row.index_path), progress
            )
            files, skipped, removed = stats.indexed, stats.unchanged, stats.removed
        try:
            symbols, file_count, languages = await asyncio.to_thread(
                load_symbols, row.index_path, row.root_path
            )
            kinds = await asyncio.to_thread(count_kinds, row.index_path)
        except IndexUnreadableError as error:
            raise errors.failed_precondition(
                "INDEX_UNREADABLE", error.problem.message, project=row.name
            ) from None

        def unit(now: float) -> None:
            current = store.get_project(row.name)
            if current is None or current.index_path != row.index_path:
                return  # removed or re-pointed meanwhile: nothing of ours to refresh
            store.replace_symbols(row.name, symbols)
            store.save_project(
                replace(
                    current,
                    languages=current.languages or languages,
                    file_count=file_count,
                    symbol_count=len(symbols),
                    last_indexed_at=now,
                    updated_at=now,
                )
            )

        await self._write(unit)
        return IndexResult(
            row.name,
            files,
            skipped,
            removed,
            kinds.get("Symbol", 0),
            kinds.get("Call", 0),
            kinds.get("Import", 0),
            kinds.get("Reference", 0),
            time.perf_counter() - started,
        )

    # -- search and navigation -----------------------------------------------------------------

    async def search(
        self, unused_caller: Caller, q: str, language: str = "", k: int = 0, kind: str = "", project: str = ""
    ) -> SearchResult:
        text = checks.query(q)
        count = limit("k", k, default=5, maximum=200)
        return await self.db.read(lambda: code_search.search(self.pool, text, language, count, kind, project))

    async def navigate(
        self,
        unused_caller: Caller,
        q: str,
        language: str = "",
        k: int = 0,
        depth: int = 0,
        max_nodes: int = 0,
        project: str = "",
    ) -> NavigateResult:
        text = checks.query(q)
        count = limit("k", k, default=5, maximum=50)
        hops = limit("depth", depth, default=2, maximum=6)
        nodes = limit("max_nodes", max_nodes, default=200, maximum=2000)
        return await self.db.read(
            lambda: code_search.navigate(self.pool, text, language, count, hops, nodes, project)
        )


def _same_or_conflict(existing: ProjectRow, root: str, index: str, external: bool) -> ProjectRow:
    if existing.root_path == root and existing.index_path == index and existing.external == external:
        return existing
    raise errors.EnvoyError(
        grpc.StatusCode.ALREADY_EXISTS,
        "PROJECT_ALREADY_EXISTS",
        f"a project named {existing.name!r} is already registered with other paths "
        f"(root_path {existing.root_path}, index_path {existing.index_path})",
        metadata={"project": existing.name},
    )


def _delete(name: str) -> ProjectRow | None:
    row = store.get_project(name)
    if row is not None:
        store.delete_project(name)
    return row


def _unlink(path: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
