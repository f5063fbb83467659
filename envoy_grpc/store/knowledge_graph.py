"""Where knowledge meets the knowledge graph: the one module of this area that calls the graph store.

Runs on the writer thread inside the knowledge writer's transaction, so a record, its entity and its
edges commit together. A record's ID is its entity's ID: `new_entity` creates the entity first and
the record is inserted with that ID. Entities are unique by (kind, name, project), so a second
discovery by one agent about one target in one project is named `<agent>: <target> #2`.

What each record adds (knowledge.proto's resource model, plus who made it):

| Record    | Edges                                                                                    |
|-----------|------------------------------------------------------------------------------------------|
| Discovery | `belongs_to_project` Project; `observed_in` Session (when linked); `explains` each File  |
|           | or Symbol entity named by its target (any project); Agent (its label) `created` it        |
| Memory    | `belongs_to_project` Project (project scope); `observed_in` its provenance Session (when |
|           | recorded); `explains` as a discovery; Agent (its provenance agent) `created` it           |
| Handoff   | `belongs_to_project` Project; `observed_in` Session (when recorded); Agent (from)        |
|           | `created` it; it is `assigned_to` Agent (to)                                              |

Entity names and projects of the other areas' things (Session, Project, Agent, File, Handover,
Message) follow `envoy_grpc.core.graph_mapping`, which the graph projector writes them with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from envoy_grpc.core.graph_mapping import scope
from envoy_grpc.store import graph
from envoy_grpc.store.knowledge_types import DiscoveryRow, HandoffRow, MemoryRow

EXPLAINED_KINDS = ("File", "Symbol")
MAX_EXPLAINED = 20  # entities one target may explain (the same path in many projects)


def cursor() -> Any:
    return graph.cursor()


def free_name(kind: str, name: str, project: str, taken: int = 0) -> str:
    """`name`, or `name #2`, `#3`, ... : the first that no entity of `kind` in `project` has.

    `taken` is how many records already use the name (their count is known from an index), so the
    search starts past them rather than walking every number from 2."""
    number = taken + 1
    while True:
        candidate = name if number == 1 else f"{name} #{number}"
        if not graph.entity_ids_for(kind, candidate, project):
            return candidate
        number += 1


def new_entity(
    kind: str, name: str, project: str, data: dict[str, Any], now: float, taken: int = 0
) -> tuple[int, str]:
    """Create the entity of a new record under a free name: (its ID, its name)."""
    name = free_name(kind, name, project, taken)
    return graph.upsert_entity(kind, name, project, data=data, now=now), name


def _agent(label: str, now: float) -> int:
    found = graph.entity_ids_for("Agent", label, "")
    return found[0] if found else graph.upsert_entity("Agent", label, "", data={"label": label}, now=now)


def _project(project: str, now: float) -> int:
    return graph.upsert_entity("Project", project, scope("Project", project, project), now=now)


def _session(session_id: str, now: float) -> int | None:
    """The Session entity of a recorded session (created if the projector has not yet)."""
    row = cursor().execute("SELECT project FROM session WHERE session_id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    return graph.upsert_entity("Session", session_id, scope("Session", session_id, row[0]), now=now)


_CODE_SYMBOLS = (
    "SELECT project, name, kind, file_path, line, col, qualified_name FROM code_symbol "
    "WHERE name_lower = ? LIMIT 50"
)


def _code_symbols(target: str, now: float) -> list[int]:
    """Symbols of registered code projects that the target names (`build_router`, or a qualified
    `pkg.mod.build_router`), as graph Symbol entities: knowledge about a symbol links to the code."""
    last = target.replace("::", ".").rsplit(".", 1)[-1].lower()
    if not last:
        return []
    found: list[int] = []
    for project, name, kind, file_path, line, col, qualified in cursor().execute(_CODE_SYMBOLS, (last,)):
        if target.lower() not in (name.lower(), (qualified or "").lower()):
            continue
        data = {"kind": kind, "line": line, "column": col, "qualified_name": qualified}
        found.append(graph.upsert_entity("Symbol", qualified or name, project, file_path, data, now=now))
    return found


def _explained(target: str, now: float) -> list[int]:
    found = [i for kind in EXPLAINED_KINDS for i in graph.entity_ids_for(kind, target)]
    found += [i for i in _code_symbols(target, now) if i not in found]
    return found[:MAX_EXPLAINED]


def _link(
    entity_id: int, project: str | None, session_id: str | None, target: str | None, now: float
) -> None:
    if project:
        graph.add_edge(entity_id, _project(project, now), "belongs_to_project", now=now)
    session = _session(session_id, now) if session_id else None
    if session is not None:
        graph.add_edge(entity_id, session, "observed_in", now=now)
    for explained in _explained(target, now) if target else ():
        graph.add_edge(entity_id, explained, "explains", now=now)


def link_discovery(discovery: DiscoveryRow, now: float) -> None:
    linked = discovery.session_id if discovery.session_linked else None
    _link(discovery.discovery_id, discovery.project, linked, discovery.target, now)
    graph.add_edge(_agent(discovery.agent, now), discovery.discovery_id, "created", now=now)


def memory_entity(memory: MemoryRow, now: float) -> int:
    """The Memory entity (created, or its data replaced): memories are found by scope, owner and key."""
    return graph.upsert_entity("Memory", memory.name, memory.project or "", data=memory.data, now=now)


def link_memory(memory: MemoryRow, now: float) -> None:
    """(Re)link a memory: a replaced memory may have a new target, session or author, so the edges
    this module gave it are dropped first (edges others added, such as relation hints, stay)."""
    cur = cursor()
    cur.execute(
        "DELETE FROM graph_edge WHERE from_id = ? AND label IN ('belongs_to_project', 'observed_in', 'explains')",
        (memory.memory_id,),
    )
    cur.execute("DELETE FROM graph_edge WHERE to_id = ? AND label = 'created'", (memory.memory_id,))
    _link(memory.memory_id, memory.project, memory.provenance_session_id or None, memory.target, now)
    graph.add_edge(_agent(memory.provenance_agent, now), memory.memory_id, "created", now=now)


def link_handoff(handoff: HandoffRow, now: float) -> None:
    _link(handoff.handoff_id, handoff.project, handoff.session_id, None, now)
    graph.add_edge(_agent(handoff.from_agent, now), handoff.handoff_id, "created", now=now)
    graph.add_edge(handoff.handoff_id, _agent(handoff.to_agent, now), "assigned_to", now=now)


def update_handoff(handoff: HandoffRow, now: float) -> None:
    graph.upsert_entity("Handoff", handoff.name, handoff.project or "", data=handoff.data, now=now)


# -- deleting ----------------------------------------------------------------------------------


def unlink(record_ids: list[int]) -> tuple[int, int]:
    """Delete the entities of these records and every edge touching them: (entities, edges)."""
    return graph.delete_entities(record_ids)


def project_entities(project: str) -> list[int]:
    """Every entity kept under a project, the Project itself included (a purge reads the table)."""
    return [int(r[0]) for r in cursor().execute("SELECT id FROM graph_entity WHERE project = ?", (project,))]


def session_entities(session_id: str, project: str) -> list[int]:
    """A session's entity and those observed only in it (tool calls, prompts, test runs, ...), but
    not knowledge records, which go with their own records."""
    found = graph.entity_ids_for("Session", session_id, scope("Session", session_id, project))
    if not found:
        return []
    rows = cursor().execute(
        "SELECT e.id FROM graph_edge g JOIN graph_entity e ON e.id = g.from_id "
        "WHERE g.to_id = ? AND g.label = 'observed_in' AND e.kind NOT IN ('Discovery', 'Memory', 'Handoff')",
        (found[0],),
    )
    return [found[0], *(int(r[0]) for r in rows)]


def orphan_agent(label: str) -> list[int]:
    """The Agent entity of a label, if no edge touches it any more."""
    found = graph.entity_ids_for("Agent", label, "")
    if not found:
        return []
    touched = (
        cursor()
        .execute(
            "SELECT 1 FROM graph_edge WHERE from_id = ? UNION ALL SELECT 1 FROM graph_edge WHERE to_id = ? LIMIT 1",
            (found[0], found[0]),
        )
        .fetchone()
    )
    return [] if touched else found


# -- search results ----------------------------------------------------------------------------


def entities(keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], graph.EntityRow]:
    """The entities with these keys, for those that exist (the projector may not have run yet)."""
    ids = {key: found[0] for key in keys if (found := graph.entity_ids_for(*key))}
    rows = graph.entities_by_id(ids.values())
    return {key: rows[i] for key, i in ids.items() if i in rows}


def entities_by_id(ids: Iterable[int]) -> dict[int, graph.EntityRow]:
    return graph.entities_by_id(ids)
