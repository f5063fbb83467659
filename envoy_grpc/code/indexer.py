"""Index a project tree into a magellan-layout SQLite file, incrementally.

    stats = index_project(root, db_path, progress=lambda done, total: ...)

Walks `root` without following directory symlinks, skipping VCS, virtualenv, dependency, cache and
build directories (`SKIP_DIRS`, plus `*.egg-info`), files over `MAX_FILE_BYTES`, and file symlinks
that point outside the root. Each file whose extension is in `LANGUAGES` is hashed (SHA-256); an
unchanged hash skips it, a changed one replaces its rows, and files indexed before but gone now are
deleted. Calls are then re-linked over the whole project (see `index_db.IndexDb.link_calls`).

Adding a language is one `Language` entry per extension: a function naming a file's module and an
extractor `(source, path, module) -> FileExtract` (Python uses `ast`; TypeScript/JavaScript, Go and
Rust use tree-sitter grammars, `treesitter_symbols`). Source that does not parse (or decode as UTF-8)
keeps a File entity and its hash, with no symbols, and counts in `IndexStats.failed`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from envoy_grpc.code.index_db import IndexDb
from envoy_grpc.code.model import FileExtract
from envoy_grpc.code.python_symbols import extract_python, package_module_name
from envoy_grpc.code.treesitter_symbols import (
    extract_go,
    extract_javascript,
    extract_rust,
    extract_typescript,
    go_module,
    js_module,
    rust_module,
)

MAX_FILE_BYTES = 1_000_000
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        "build",
        "dist",
        "target",
    }
)

Extractor = Callable[[str, str, str], FileExtract]  # (source, relative path, module) → extract


@dataclass(frozen=True, slots=True)
class Language:
    name: str
    module_name: Callable[[Path, Path], str]  # (root, absolute file) → module / qualified prefix
    extract: Extractor


def _python_module(root: Path, file: Path) -> str:
    return package_module_name(file.absolute())


LANGUAGES: dict[str, Language] = {
    ".py": Language("python", _python_module, extract_python),
    **{ext: Language("javascript", js_module, extract_javascript) for ext in (".js", ".jsx", ".mjs", ".cjs")},
    **{ext: Language("typescript", js_module, extract_typescript) for ext in (".ts", ".tsx")},
    ".go": Language("go", go_module, extract_go),
    ".rs": Language("rust", rust_module, extract_rust),
}


@dataclass(frozen=True, slots=True)
class IndexStats:
    files: int  # source files found
    indexed: int  # parsed and written (new or changed)
    unchanged: int  # skipped: same SHA-256 as last time
    removed: int  # indexed before, gone now
    failed: int  # did not decode or parse
    symbols: int  # written in this run
    calls: int
    imports: int
    linked_calls: int  # CALLS edges in the whole index after this run
    lines: int  # source lines parsed in this run
    seconds: float


def source_files(root: Path) -> Iterator[Path]:
    """Indexable files under `root`, sorted within each directory."""
    resolved_root = root.resolve()
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(directory, name)
            if path.suffix not in LANGUAGES:
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(resolved_root):
                continue
            try:
                if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                    continue
            except OSError:
                continue
            yield path


def index_project(
    root: Path, db_path: Path, progress: Callable[[int, int], None] | None = None
) -> IndexStats:
    """Bring the index at `db_path` up to date with the sources under `root`."""
    started = time.perf_counter()
    files = list(source_files(root))
    indexed = unchanged = failed = symbols = calls = imports = lines = 0
    with IndexDb(db_path) as db:
        known = db.file_hashes()
        seen: set[str] = set()
        if progress is not None:
            progress(0, len(files))
        for done, file in enumerate(files, start=1):
            rel = file.relative_to(root).as_posix()
            seen.add(rel)
            try:
                content = file.read_bytes()
            except OSError:
                failed += 1
                continue
            digest = hashlib.sha256(content).hexdigest()
            if known.get(rel) == digest:
                unchanged += 1
            else:
                language = LANGUAGES[file.suffix]
                extract: FileExtract | None
                try:
                    extract = language.extract(content.decode(), rel, language.module_name(root, file))
                except (UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
                    extract = None
                    failed += 1
                db.replace_file(rel, digest, extract, language.name)
                indexed += 1
                if extract is not None:
                    symbols += len(extract.symbols)
                    calls += len(extract.calls)
                    imports += len(extract.imports)
                    lines += extract.lines
            if progress is not None:
                progress(done, len(files))
        gone = sorted(set(known) - seen)
        for rel in gone:
            db.delete_file(rel)
        linked = db.link_calls() if indexed or gone else db.count_edges("CALLS")
    return IndexStats(
        files=len(files),
        indexed=indexed,
        unchanged=unchanged,
        removed=len(gone),
        failed=failed,
        symbols=symbols,
        calls=calls,
        imports=imports,
        linked_calls=linked,
        lines=lines,
        seconds=time.perf_counter() - started,
    )
