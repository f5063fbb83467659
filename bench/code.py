"""`python -m bench.code`: cross-project code search and navigation (CodeService) over gRPC.

1. Generates source trees into a temp dir: N projects of S symbols each (default 20 x 50,000, see
   `--projects` / `--symbols`), mostly Python, with every fifth project also carrying TypeScript, Go
   and Rust files. Names are drawn with a fixed seed from verb/adjective/noun vocabularies
   (`load_cached_config`, `SessionBufferHandler`), so common names recur across modules and projects;
   every function calls two or three others (same module or imported), so call chains exist.
2. Starts the server (pinned to core 0, this process on core 1, when there are two cores),
   registers every project and indexes it with IndexProject, one at a time: the indexing throughput
   is the source lines of the tree over the call's wall time, through the real server (one core).
3. Times `grep -rn NAME` over all the generated sources for a few names: the baseline.
4. Calls CrossSearch (k=10; a mix of exact names, prefixes, 3-5 character substrings, one- and
   two-letter substrings, names with a typing mistake (two letters swapped or one dropped), and a
   `language` filter) and CrossNavigate (depth 2, k=10), one call at a time; p50/p90/p99.

Targets (issue 6): cross search p50 <= 25 ms and p99 <= 100 ms; navigate depth 2 p50 <= 50 ms;
indexing >= 2,000 source lines/s per core. Prints a table and writes bench/results/code-latest.json.
Missing a target is reported, not an error. `--quick` is a smoke run on 4 projects x 5,000 symbols.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bench import cpu
from bench.graph import server, summary, timed
from envoy_grpc.gen.envoy.v1 import code_pb2, code_pb2_grpc

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "code-latest.json"
SEARCH_P50_MS = 25.0
SEARCH_P99_MS = 100.0
NAVIGATE_P50_MS = 50.0
INDEX_LINES_PER_S = 2_000.0
SEARCH_KINDS = ("exact", "prefix", "substring", "short", "typo", "language")


def _words(text: str) -> list[str]:
    return text.split()


VERBS = _words(
    "load save read write open close get set put make build run start stop check find sort merge split "
    "join send recv init reset flush sync map filter reduce emit watch poll parse render resolve apply"
)
ADJECTIVES = _words(
    "cached raw remote local pending active default shared primary nested async batch lazy stale "
    "fresh signed partial global empty inner outer safe fast"
)
NOUNS = _words(
    "config cache session buffer token index query record entity edge graph node user agent message "
    "topic event handler worker queue socket stream schema row column table path file module report "
    "route request response payload manifest channel"
)
PACKAGES = _words("core store server services gateway api util models jobs auth io net")


@dataclass(frozen=True)
class Shape:
    projects: int = 20
    symbols: int = 50_000  # functions, classes, methods and constants per project (generated)


QUICK = Shape(projects=4, symbols=5_000)


# -- source generation ---------------------------------------------------------------------------


@dataclass
class Tree:
    root: Path
    files: int = 0
    lines: int = 0
    symbols: int = 0
    by_language: dict[str, int] = field(default_factory=dict)


class Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def function(self) -> str:
        r = self.rng
        if r.random() < 0.35:
            return f"{r.choice(VERBS)}_{r.choice(NOUNS)}"
        return f"{r.choice(VERBS)}_{r.choice(ADJECTIVES)}_{r.choice(NOUNS)}"

    def cls(self) -> str:
        r = self.rng
        return (
            f"{r.choice(ADJECTIVES).capitalize()}{r.choice(NOUNS).capitalize()}{r.choice(NOUNS).capitalize()}"
        )

    def constant(self) -> str:
        return f"{self.rng.choice(ADJECTIVES).upper()}_{self.rng.choice(NOUNS).upper()}_LIMIT"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _pascal(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _python_module(names: Names, imports: list[tuple[str, str]], count: int) -> tuple[str, list[str], int]:
    """A module of about `count` symbols; its source, the functions it defines, the symbols written."""
    rng = names.rng
    lines = ['"""Generated module."""', "", "from __future__ import annotations", ""]
    for module, name in imports:
        lines.append(f"from {module} import {name}")
    lines.append("")
    defined: list[str] = []
    callable_here = [name for _, name in imports]
    written = 0
    while written < count:
        draw = rng.random()
        if draw < 0.08:
            lines += [f"{names.constant()} = {rng.randint(1, 9999)}", ""]
            written += 1
        elif draw < 0.3:
            cls = names.cls()
            lines += [f"class {cls}:", f'    """A {cls}."""', ""]
            written += 1
            for _ in range(rng.randint(2, 4)):
                method = names.function()
                targets = rng.sample(callable_here, min(2, len(callable_here)))
                body = [f"        value = {t}(item)" for t in targets] or ["        value = item"]
                lines += [f"    def {method}(self, item):", *body, "        return value", ""]
                written += 1
        else:
            name = names.function()
            targets = rng.sample(callable_here, min(rng.randint(2, 3), len(callable_here)))
            body = [f"    result = {t}(arg)" for t in targets] or ["    result = arg"]
            lines += [f"def {name}(arg, option=None):", f'    """{name}."""', *body, "    return result", ""]
            defined.append(name)
            callable_here.append(name)
            written += 1
    return "\n".join(lines) + "\n", defined, written


def _other_module(language: str, names: Names, count: int) -> tuple[str, str, int]:
    """A TypeScript, Go or Rust file of about `count` functions: (extension, source, symbols)."""
    functions = [names.function() for _ in range(count)]
    out: list[str] = []
    if language == "typescript":
        for i, name in enumerate(functions):
            calls = [f"  const v{j} = {_camel(c)}(x);" for j, c in enumerate(functions[max(0, i - 2) : i])]
            out += [
                f"export function {_camel(name)}(x: number): number {{",
                *calls,
                "  return x + 1;",
                "}",
                "",
            ]
        out += [f"export class {names.cls()} {{", "  run(x: number): number {", "    return x;", "  }", "}"]
        return ".ts", "\n".join(out) + "\n", count + 2
    if language == "go":
        out += ["package gen", ""]
        for i, name in enumerate(functions):
            calls = [f"\t_ = {_pascal(c)}(x)" for c in functions[max(0, i - 2) : i]]
            out += [f"func {_pascal(name)}(x int) int {{", *calls, "\treturn x + 1", "}", ""]
        return ".go", "\n".join(out) + "\n", count
    for i, name in enumerate(functions):
        calls = [f"    let _ = {c}(x);" for c in functions[max(0, i - 2) : i]]
        out += [f"pub fn {name}(x: i64) -> i64 {{", *calls, "    x + 1", "}", ""]
    return ".rs", "\n".join(out) + "\n", count


def generate(root: Path, index: int, symbols: int, rng: random.Random) -> Tree:
    """One project tree under `root` with about `symbols` symbols."""
    tree = Tree(root)
    names = Names(rng)
    mixed = index % 5 == 4
    per_file = 40
    package_name = f"proj{index:02d}"
    previous: list[tuple[str, list[str]]] = []
    while tree.symbols < symbols:
        if mixed and rng.random() < 0.3:
            language = rng.choice(("typescript", "go", "rust"))
            ext, source, written = _other_module(language, names, per_file // 2)
            directory = root / language / rng.choice(PACKAGES)
            path = directory / f"{names.function()}_{tree.files}{ext}"
        else:
            language = "python"
            package = rng.choice(PACKAGES)
            stem = f"{names.function()}_{tree.files}"
            imports: list[tuple[str, str]] = []
            for module, defined in rng.sample(previous, min(3, len(previous))):
                if defined:
                    imports.append((module, rng.choice(defined)))
            source, defined, written = _python_module(names, imports, per_file)
            directory = root / package_name / package
            path = directory / f"{stem}.py"
            previous.append((f"{package_name}.{package}.{stem}", defined))
            if len(previous) > 200:
                previous.pop(0)
        directory.mkdir(parents=True, exist_ok=True)
        if language == "python" and not (directory / "__init__.py").exists():
            (directory / "__init__.py").write_text("", encoding="utf-8")
            (directory.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
        tree.files += 1
        tree.lines += source.count("\n")
        tree.symbols += written
        tree.by_language[language] = tree.by_language.get(language, 0) + written
    return tree


# -- the measurements ----------------------------------------------------------------------------


def grep_baseline(root: Path, queries: list[str]) -> dict[str, Any]:
    """`grep -rn NAME ROOT` for each name: the seconds and the matching lines."""
    samples, matches = [], []
    for name in queries:
        started = time.perf_counter()
        done = subprocess.run(["grep", "-rn", name, str(root)], capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
        matches.append(done.stdout.count(b"\n"))
    return summary(samples) | {"queries": queries, "mean_matches": round(statistics.fmean(matches), 1)}


def _mistake(name: str, rng: random.Random) -> str:
    """`name` with two neighbouring letters swapped or one letter dropped."""
    i = rng.randrange(1, len(name) - 2)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


def pick_queries(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    names = Names(rng)
    exact = [names.function() for _ in range(10)] + [names.cls() for _ in range(4)]
    prefixes = [f"{rng.choice(VERBS)}_{rng.choice(ADJECTIVES)[:3]}" for _ in range(8)]
    prefixes += [rng.choice(VERBS)[:4] for _ in range(4)]
    substrings = [rng.choice(NOUNS + ADJECTIVES)[:n] for n in (3, 4, 5) for _ in range(4)]
    short = [rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(4)]
    short += [
        word[i : i + 2] for word in rng.sample(NOUNS + VERBS, 8) for i in [rng.randrange(len(word) - 1)]
    ]
    typos = [_mistake(names.function(), rng) for _ in range(12)]
    languages = ("go", "rust", "typescript", "python")
    language = [(names.function(), languages[i % len(languages)]) for i in range(12)]
    return {
        "exact": [(q, "") for q in exact],
        "prefix": [(q, "") for q in prefixes],
        "substring": [(q, "") for q in substrings],
        "short": [(q, "") for q in short],
        "typo": [(q, "") for q in typos],
        "language": language,
    }


def _metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def index_all(target: str, token: str, trees: list[Tree]) -> list[dict[str, Any]]:
    metadata = _metadata(token)
    out = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = code_pb2_grpc.CodeServiceStub(channel)
        for i, tree in enumerate(trees):
            name = f"project-{i:02d}"
            languages = sorted(tree.by_language)
            await stub.RegisterProject(
                code_pb2.RegisterProjectRequest(name=name, root_path=str(tree.root), languages=languages),
                metadata=metadata,
            )
            started = time.perf_counter()
            done = await stub.IndexProject(code_pb2.IndexProjectRequest(name=name), metadata=metadata)
            seconds = time.perf_counter() - started
            row = {
                "project": name,
                "files": done.files,
                "lines": tree.lines,
                "generated_symbols": tree.symbols,
                "indexed_symbols": done.symbols,
                "calls": done.calls,
                "imports": done.imports,
                "seconds": round(seconds, 2),
                "lines_per_s": round(tree.lines / seconds, 1),
            }
            out.append(row)
            print(
                f"  {name}: {tree.files} files, {tree.lines:,} lines, {done.symbols:,} symbols, "
                f"{done.calls:,} calls in {seconds:.1f} s ({row['lines_per_s']:,.0f} lines/s)",
                flush=True,
            )
    return out


async def measure(
    target: str, token: str, queries: dict[str, list[tuple[str, str]]], calls: int
) -> dict[str, Any]:
    metadata = _metadata(token)
    results: dict[str, Any] = {}
    everything: list[float] = []
    async with grpc.aio.insecure_channel(
        target, options=[("grpc.max_receive_message_length", -1)]
    ) as channel:
        stub = code_pb2_grpc.CodeServiceStub(channel)
        for kind in SEARCH_KINDS:
            chosen = queries[kind]
            hits: list[int] = []

            async def search(i: int, chosen: list[tuple[str, str]] = chosen, hits: list[int] = hits) -> None:
                q, language = chosen[i % len(chosen)]
                found = await stub.CrossSearch(
                    code_pb2.CrossSearchRequest(q=q, language=language, k=10), metadata=metadata
                )
                if i >= 0:
                    hits.append(len(found.results))

            samples = await timed(calls, search, warmup=len(chosen))
            everything += samples
            results[kind] = summary(samples) | {
                "queries": [q if not lang else f"{q} (language {lang})" for q, lang in chosen],
                "mean_hits": round(statistics.fmean(hits), 1),
            }
        overall = summary(everything)
        overall["met"] = overall["p50_ms"] <= SEARCH_P50_MS and overall["p99_ms"] <= SEARCH_P99_MS
        results["overall"] = overall

        chosen = queries["exact"] + queries["prefix"][:4]
        sizes: list[tuple[int, int]] = []

        async def navigate(i: int) -> None:
            q, _ = chosen[i % len(chosen)]
            found = await stub.CrossNavigate(
                code_pb2.CrossNavigateRequest(q=q, k=10, depth=2), metadata=metadata
            )
            if i >= 0:
                sizes.append(
                    (sum(len(v.entities) for v in found.views), sum(len(v.edges) for v in found.views))
                )

        samples = await timed(max(50, calls // 2), navigate, warmup=len(chosen))
        results["navigate"] = summary(samples, NAVIGATE_P50_MS) | {
            "queries": [q for q, _ in chosen],
            "mean_entities": round(statistics.fmean(s[0] for s in sizes), 1),
            "mean_edges": round(statistics.fmean(s[1] for s in sizes), 1),
        }
    return results


# -- the run -------------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def table(results: dict[str, Any]) -> str:
    search = results["search"]
    lines = [f"{'measure':<22}{'p50':>10}{'p90':>10}{'p99':>10}{'hits':>8}  example"]
    for kind in SEARCH_KINDS:
        row = search[kind]
        lines.append(
            f"{'search ' + kind:<22}{row['p50_ms']:>8.2f}ms{row['p90_ms']:>8.2f}ms{row['p99_ms']:>8.2f}ms"
            f"{row['mean_hits']:>8.1f}  {row['queries'][0]}"
        )
    overall = search["overall"]
    lines.append(
        f"{'search overall':<22}{overall['p50_ms']:>8.2f}ms{overall['p90_ms']:>8.2f}ms{overall['p99_ms']:>8.2f}ms"
        f"{'':>8}  target p50 <= {SEARCH_P50_MS:.0f} ms, p99 <= {SEARCH_P99_MS:.0f} ms: {_verdict(overall['met'])}"
    )
    nav = search["navigate"]
    lines.append(
        f"{'navigate depth 2':<22}{nav['p50_ms']:>8.2f}ms{nav['p90_ms']:>8.2f}ms{nav['p99_ms']:>8.2f}ms"
        f"{nav['mean_entities']:>8.1f}  target p50 <= {NAVIGATE_P50_MS:.0f} ms: {_verdict(nav['met'])}"
        f" (mean {nav['mean_entities']} entities, {nav['mean_edges']} edges)"
    )
    grep = results["grep_baseline"]
    lines.append(
        f"{'grep -rn (baseline)':<22}{grep['p50_ms']:>8.2f}ms{grep['p90_ms']:>8.2f}ms{grep['p99_ms']:>8.2f}ms"
        f"{grep['mean_matches']:>8.1f}  over all sources; search p50 is "
        f"{grep['p50_ms'] / max(overall['p50_ms'], 1e-9):.0f}x faster"
    )
    index = results["indexing"]
    lines.append(
        f"{'indexing':<22}{index['lines_per_s']:>10,.0f} lines/s (one core, {index['lines']:,} lines in "
        f"{index['seconds']:.1f} s); target >= {INDEX_LINES_PER_S:,.0f}: {_verdict(index['met'])}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.code", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help="4 projects x 5,000 symbols (smoke run)")
    parser.add_argument("--projects", type=int, help="projects to generate (default 20)")
    parser.add_argument("--symbols", type=int, help="symbols per project (default 50,000)")
    parser.add_argument("--calls", type=int, help="calls per search kind (default 300; --quick 50)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to cores")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, pin: bool) -> dict[str, Any]:
    base = QUICK if args.quick else Shape()
    shape = Shape(args.projects or base.projects, args.symbols or base.symbols)
    calls = args.calls or (50 if args.quick else 300)
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="envoy-bench-code-") as directory:
        sources = Path(directory) / "src"
        started = time.perf_counter()
        trees = [generate(sources / f"p{i:02d}", i, shape.symbols, rng) for i in range(shape.projects)]
        generate_seconds = time.perf_counter() - started
        lines = sum(t.lines for t in trees)
        print(
            f"generated {shape.projects} projects, {sum(t.files for t in trees):,} files, {lines:,} lines, "
            f"{sum(t.symbols for t in trees):,} symbols in {generate_seconds:.1f} s",
            flush=True,
        )
        queries = pick_queries(random.Random(7))
        grep_names = [q for q, _ in queries["exact"][:5]]
        data_dir = Path(directory) / "data"
        data_dir.mkdir()
        with server(data_dir, pin) as running:
            token = running.token()
            indexed = await index_all(running.target, token, trees)
            measured = await measure(running.target, token, queries, calls)
        grep = grep_baseline(sources, grep_names)
    index_seconds = sum(r["seconds"] for r in indexed)
    lines_per_s = round(lines / index_seconds, 1)
    return {
        "name": "code",
        "time_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "parameters": {
            "projects": shape.projects,
            "symbols_per_project": shape.symbols,
            "generated_symbols": sum(t.symbols for t in trees),
            "indexed_symbols": sum(r["indexed_symbols"] for r in indexed),
            "files": sum(t.files for t in trees),
            "lines": lines,
            "calls_per_kind": calls,
            "k": 10,
            "pinned": pin,
            "generate_seconds": round(generate_seconds, 1),
            "full_size": shape == Shape(),
        },
        "indexing": {
            "lines": lines,
            "seconds": round(index_seconds, 2),
            "lines_per_s": lines_per_s,
            "target_lines_per_s": INDEX_LINES_PER_S,
            "met": lines_per_s >= INDEX_LINES_PER_S,
            "projects": indexed,
        },
        "grep_baseline": grep,
        "search": measured,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    pin = not args.no_pin and cpu.can_pin()
    if pin:
        cpu.pin_self_to_client_core()
    results = asyncio.run(run(args, pin))
    print(table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
