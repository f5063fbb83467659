"""`python -m bench.search`: KnowledgeService.Search over 100,000 searchable documents, over gRPC.

1. Seeds a fresh database (after running the migrations) with 30,000 discoveries, 20,000 memories,
   10,000 handoffs and 40,000 messages in 20 projects, each with its graph entity (records and
   messages) and its search document. The text is drawn with a fixed seed from three vocabularies:
   English (Zipf-distributed, so the most common words are in about half the documents), code-ish
   identifiers (`parse_config`, `w1234`) and file paths. Documents are written with the store's own
   text functions (`knowledge_index.*_text`) into `knowledge_doc` and `knowledge_fts` in batches,
   which is what the server's writers would have built; the indexer and graph projector cursors are
   set past the seeded messages, so the server does no catching up while it is measured.
2. Starts the server on that data directory (pinned to core 0, this process on core 1, when there
   are two cores) and calls Search with k=10, one call at a time, for each kind of query: a rare
   word (a handful of documents), a medium word (about 1%), a common word (about 40%), two words
   (AND), a two-word phrase, a short prefix (`w12*`, `pars*`) and a medium word within one project.
   The words are chosen from the generated corpus by document frequency, which is reported.

Target (issue 5): search top-10 p50 <= 10 ms over the whole mix; each kind is reported as well.
Prints a table and writes bench/results/search-latest.json. Missing the target is reported, not an
error. `--quick` is a smoke run on 10,000 documents.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime
import itertools
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import peewee

from bench import cpu
from bench.graph import server, summary, timed
from envoy_grpc.core.graph_mapping import scope
from envoy_grpc.gen.envoy.v1 import knowledge_pb2, knowledge_pb2_grpc
from envoy_grpc.store import graph_feed, knowledge_index, knowledge_indexer, migrations
from envoy_grpc.store.knowledge_types import DiscoveryRow, HandoffRow, MemoryRow

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "search-latest.json"
TARGET_P50_MS = 10.0
PROJECTS = [f"project-{i:02d}" for i in range(20)]
PROJECTED_MESSAGES = f"graph_projection.{graph_feed.SOURCES[1]}"
KINDS = ("rare", "medium", "common", "two_words", "phrase", "prefix", "project")


def _words(text: str) -> list[str]:
    return text.split()


ENGLISH = _words(
    "the of and to in is that for it with as was on be by this are not or from at have an but which "
    "they you were all one we can there has been more when will would what if their so no about into "
    "than them only other new some could these two may first then do any like my now over such our "
    "after most also made many before must through back where much should well because each just those "
    "how too little state good very make world still see own between long here both under never same "
    "another while last might great since against right three came used without again found done "
    "change fails after retry error timeout cache config build test fix slow fast handler request "
    "response server client query index table column migration schema path file module function class "
    "method value return call stack trace memory leak lock thread queue worker batch commit branch"
)
SYLLABLES = _words(
    "parse load save read write open close get set put make build run start stop check find sort "
    "merge split join send recv init reset flush sync async map filter reduce emit watch poll"
)
NOUNS = _words(
    "config cache session buffer token index query record entity edge graph node user agent message "
    "topic event handler worker queue socket stream schema row column table path file module report"
)
PACKAGES = _words("core store server services gateway bench tests scripts proto gen api util")


@dataclass(frozen=True)
class Shape:
    discoveries: int = 30_000
    memories: int = 20_000
    handoffs: int = 10_000
    messages: int = 40_000

    @property
    def documents(self) -> int:
        return self.discoveries + self.memories + self.handoffs + self.messages


QUICK = Shape(discoveries=3_000, memories=2_000, handoffs=1_000, messages=4_000)


# -- text --------------------------------------------------------------------------------------


class Vocabulary:
    """Zipf-distributed English, identifiers, `w<n>` tokens and file paths, drawn with one RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.english = ENGLISH
        self.english_weights = list(itertools.accumulate(1 / (r + 1) ** 1.05 for r in range(len(ENGLISH))))
        identifiers = [f"{v}_{n}" for v in SYLLABLES for n in NOUNS]
        identifiers += [f"{v}{n.capitalize()}" for v in SYLLABLES for n in NOUNS]
        rng.shuffle(identifiers)
        self.identifiers = identifiers
        self.identifier_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(identifiers))))
        self.tokens = 100_000
        self.token_weights = list(itertools.accumulate(1 / (r + 1) ** 0.9 for r in range(self.tokens)))

    def _zipf(self, weights: list[float]) -> int:
        return bisect.bisect(weights, self.rng.random() * weights[-1])

    def path(self) -> str:
        package = PACKAGES[self._zipf(self._package_weights)]
        return f"src/{package}/{self.identifier()}.py"

    _package_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(PACKAGES))))

    def identifier(self) -> str:
        return self.identifiers[self._zipf(self.identifier_weights)]

    def token(self) -> str:
        return f"w{self._zipf(self.token_weights)}"

    def sentence(self, words: int) -> str:
        rng, out = self.rng, []
        for _ in range(words):
            draw = rng.random()
            if draw < 0.72:
                out.append(self.english[self._zipf(self.english_weights)])
            elif draw < 0.86:
                out.append(self.identifier())
            elif draw < 0.95:
                out.append(self.token())
            else:
                out.append(self.path())
        return " ".join(out)


# -- seeding -----------------------------------------------------------------------------------

_ENTITY = (
    "INSERT INTO graph_entity (id, kind, name, project, data_json, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DISCOVERY = (
    "INSERT INTO discovery (id, name, agent, discovery_type, target, project, session_id, session_linked, "
    "metadata_json, data_bytes, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?)"
)
_MEMORY = (
    "INSERT INTO memory (id, scope, owner, key, content, confidence, target, provenance_agent, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_HANDOFF = (
    "INSERT INTO handoff (id, name, from_agent, to_agent, manifest_json, project, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MESSAGE = (
    "INSERT INTO message (id, type, sender, to_agent, parts_json, created_at, body_hash) "
    "VALUES (?, 'direct', ?, ?, ?, ?, ?)"
)


@dataclass
class Seeded:
    seconds: float
    frequency: Counter[str]  # documents containing each (lower-cased) word
    phrases: list[str]  # two-word phrases that occur in some documents
    documents: int


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _rows(shape: Shape, rng: random.Random) -> tuple[dict[str, list[tuple[Any, ...]]], Seeded]:
    """Every row to insert, by table, and what the query picker needs to know about the text."""
    vocabulary = Vocabulary(rng)
    agents = [f"agent-{i:03d}" for i in range(200)]
    rows: dict[str, list[tuple[Any, ...]]] = {
        name: [] for name in ("entity", "discovery", "memory", "handoff", "message", "doc", "fts")
    }
    frequency: Counter[str] = Counter()
    phrases: list[str] = []
    now = time.time() - shape.documents  # one record a second up to now: none is past message retention
    entity_id = 0

    def document(kind: str, record_id: int, project: str | None, created: float, body: str) -> None:
        doc_id = len(rows["doc"]) + 1
        rows["doc"].append((doc_id, kind, record_id, project or "", created))
        rows["fts"].append((doc_id, body))
        words = body.lower().replace("/", " ").replace(".", " ").split()
        frequency.update(set(words))
        if len(phrases) < 2_000 and len(words) > 6 and rng.random() < 0.05:
            start = rng.randrange(len(words) - 1)
            pair = words[start : start + 2]
            if all(word.isalnum() for word in pair):
                phrases.append(" ".join(pair))

    for i in range(shape.discoveries):
        entity_id += 1
        created = now + i
        project = rng.choice(PROJECTS)
        agent = rng.choice(agents)
        target = vocabulary.path()
        metadata = {"summary": vocabulary.sentence(rng.randint(12, 40)), "symbol": vocabulary.identifier()}
        discovery_type = rng.choice(("bug", "pattern", "decision", "gotcha", "todo"))
        name = f"{agent}: {target} #{entity_id}"
        row = DiscoveryRow(
            entity_id, name, agent, discovery_type, target, project, None, False, _compact(metadata), created
        )
        data = _compact(row.data)
        rows["entity"].append((entity_id, "Discovery", name, project, data, created, created))
        rows["discovery"].append(
            (
                entity_id,
                name,
                agent,
                discovery_type,
                target,
                project,
                row.metadata_json,
                len(data),
                f"h{entity_id}",
                created,
            )
        )
        document("Discovery", entity_id, project, created, knowledge_index.discovery_text(row))
    for i in range(shape.memories):
        entity_id += 1
        created = now + shape.discoveries + i
        project = rng.choice(PROJECTS)
        key = f"{vocabulary.identifier()}-{i}"
        content = vocabulary.sentence(rng.randint(10, 50))
        about = vocabulary.path() if rng.random() < 0.5 else None
        memory = MemoryRow(
            entity_id,
            "project",
            project,
            key,
            content,
            0.8,
            about,
            rng.choice(agents),
            "",
            "",
            created,
            created,
        )
        rows["entity"].append(
            (entity_id, "Memory", memory.name, project, _compact(memory.data), created, created)
        )
        rows["memory"].append(
            (
                entity_id,
                "project",
                project,
                key,
                content,
                0.8,
                about,
                memory.provenance_agent,
                created,
                created,
            )
        )
        document("Memory", entity_id, project, created, knowledge_index.memory_text(memory))
    for i in range(shape.handoffs):
        entity_id += 1
        created = now + shape.discoveries + shape.memories + i
        project = rng.choice(PROJECTS)
        source, sink = rng.sample(agents, 2)
        manifest = {
            "summary": vocabulary.sentence(rng.randint(15, 45)),
            "files": [vocabulary.path() for _ in range(rng.randint(1, 4))],
            "next": vocabulary.sentence(rng.randint(5, 15)),
        }
        name = f"handoff:{source}:{sink} #{entity_id}"
        handoff = HandoffRow(entity_id, name, source, sink, _compact(manifest), project, None, created, None)
        rows["entity"].append((entity_id, "Handoff", name, project, _compact(handoff.data), created, created))
        rows["handoff"].append((entity_id, name, source, sink, handoff.manifest_json, project, created))
        document("Handoff", entity_id, project, created, knowledge_index.handoff_text(handoff))
    for i in range(shape.messages):
        entity_id += 1
        message_id = i + 1
        created = now + shape.discoveries + shape.memories + shape.handoffs + i
        sender, recipient = rng.sample(agents, 2)
        parts = _compact([{"kind": "text", "text": vocabulary.sentence(rng.randint(8, 60))}])
        rows["message"].append((message_id, sender, recipient, parts, created, f"m{message_id}"))
        described = {"message_id": str(message_id), "type": "direct", "from": sender, "to": recipient}
        rows["entity"].append(
            (
                entity_id,
                "Message",
                str(message_id),
                scope("Message", "", ""),
                _compact(described),
                created,
                created,
            )
        )
        document("Message", message_id, None, created, knowledge_index.message_text(parts))
    return rows, Seeded(0.0, frequency, phrases, len(rows["doc"]))


def seed(db_path: Path, shape: Shape, seed_value: int = 1) -> Seeded:
    """Migrate a fresh database and fill it; the text statistics and the seconds it took."""
    started = time.perf_counter()
    db = peewee.SqliteDatabase(str(db_path))
    migrations.migrate(db)
    db.close()
    rows, seeded = _rows(shape, random.Random(seed_value))
    connection = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -400000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("BEGIN")
    connection.executemany(_ENTITY, rows["entity"])
    connection.executemany(_DISCOVERY, rows["discovery"])
    connection.executemany(_MEMORY, rows["memory"])
    connection.executemany(_HANDOFF, rows["handoff"])
    connection.executemany(_MESSAGE, rows["message"])
    connection.executemany(
        "INSERT INTO knowledge_doc (id, kind, record_id, project, created_at) VALUES (?, ?, ?, ?, ?)",
        rows["doc"],
    )
    connection.executemany("INSERT INTO knowledge_fts (rowid, body) VALUES (?, ?)", rows["fts"])
    # Already indexed and projected: the server starts with nothing to catch up on.
    cursors = [
        (knowledge_indexer.counter_name("message"), shape.messages),
        (PROJECTED_MESSAGES, shape.messages),
    ]
    connection.executemany(
        "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        cursors,
    )
    connection.execute("COMMIT")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    seeded.seconds = time.perf_counter() - started
    return seeded


# -- queries -----------------------------------------------------------------------------------


def pick_queries(seeded: Seeded, rng: random.Random, per_kind: int = 12) -> dict[str, list[tuple[str, str]]]:
    """(q, project) pairs of each kind, chosen by document frequency in the seeded corpus."""
    n = seeded.documents
    words = sorted(w for w in seeded.frequency if w.isalnum())

    def band(low: float, high: float) -> list[str]:
        found = [w for w in words if low <= seeded.frequency[w] <= high]
        return rng.sample(found, min(per_kind, len(found)))

    rare = band(3, 20)
    medium = band(0.005 * n, 0.02 * n)
    common = band(0.25 * n, 0.6 * n)
    queries: dict[str, list[tuple[str, str]]] = {
        "rare": [(w, "") for w in rare],
        "medium": [(w, "") for w in medium],
        "common": [(w, "") for w in common],
        "two_words": [
            (f"{a} {b}", "") for a, b in zip(medium, rng.sample(common + medium, len(medium)), strict=False)
        ],
        "phrase": [(f'"{p}"', "") for p in rng.sample(seeded.phrases, min(per_kind, len(seeded.phrases)))],
        "prefix": [(q, "") for q in ("w12*", "w3*", "w45*", "pars*", "load*", "conf*", "ha*", "w7*")],
        "project": [(w, rng.choice(PROJECTS)) for w in medium + common[: per_kind // 2]],
    }
    return queries


async def measure(
    target: str, token: str, queries: dict[str, list[tuple[str, str]]], calls: int
) -> dict[str, Any]:
    metadata = (("authorization", f"Bearer {token}"),)
    results: dict[str, Any] = {}
    everything: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = knowledge_pb2_grpc.KnowledgeServiceStub(channel)
        for kind in KINDS:
            chosen = queries[kind]
            hits: list[int] = []

            async def search(i: int, chosen: list[tuple[str, str]] = chosen, hits: list[int] = hits) -> None:
                q, project = chosen[i % len(chosen)]
                request = knowledge_pb2.SearchRequest(q=q, k=10, project=project)
                found = await stub.Search(request, metadata=metadata)
                if i >= 0:
                    hits.append(len(found.results))

            samples = await timed(calls, search, warmup=len(chosen))
            everything += samples
            results[kind] = summary(samples) | {
                "queries": [q if not p else f"{q} (project {p})" for q, p in chosen],
                "mean_hits": round(sum(hits) / len(hits), 1),
            }
    results["overall"] = summary(everything, TARGET_P50_MS)
    return results


# -- the run -----------------------------------------------------------------------------------


def table(results: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    lines = [f"{'query kind':<12}{'p50':>10}{'p90':>10}{'p99':>10}{'hits':>6}  example"]
    for kind in (*KINDS, "overall"):
        row = results["search"][kind]
        example = (
            row["queries"][0]
            if "queries" in row
            else f"target p50 <= {TARGET_P50_MS:.0f} ms: " + ("met" if row["met"] else "NOT MET")
        )
        hits = f"{row['mean_hits']:>6.1f}" if "mean_hits" in row else " " * 6
        lines.append(
            f"{kind:<12}{row['p50_ms']:>8.2f}ms{row['p90_ms']:>8.2f}ms{row['p99_ms']:>8.2f}ms{hits}  {example}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--quick", action="store_true", help="10,000 documents and fewer calls (smoke run)")
    parser.add_argument("--calls", type=int, help="calls per query kind (default 300; --quick 50)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to cores")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, pin: bool) -> dict[str, Any]:
    shape = QUICK if args.quick else Shape()
    calls = args.calls or (50 if args.quick else 300)
    with tempfile.TemporaryDirectory(prefix="envoy-bench-search-") as directory:
        seeded = seed(Path(directory) / "envoy.db", shape)
        print(f"seeded {seeded.documents:,} documents in {seeded.seconds:.1f} s", flush=True)
        queries = pick_queries(seeded, random.Random(7))
        frequencies = {
            kind: {q: seeded.frequency.get(q.lower(), None) for q, _ in chosen}
            for kind, chosen in queries.items()
            if kind in ("rare", "medium", "common")
        }
        with server(Path(directory), pin) as running:
            measured = await measure(running.target, running.token(), queries, calls)
    return {
        "name": "search",
        "time_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "parameters": {
            "documents": seeded.documents,
            "calls_per_kind": calls,
            "k": 10,
            "pinned": pin,
            "seed_seconds": round(seeded.seconds, 1),
            "document_frequency": frequencies,
        },
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
