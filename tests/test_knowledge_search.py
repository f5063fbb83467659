"""Search: the query syntax, BM25 ranking with snippets across every kind of record, the filters, the
graph entity behind each hit, the indexer that follows other areas' tables, and hostile input that
never makes the server fail."""

from __future__ import annotations

import urllib.parse
from typing import Any

import grpc
import pytest
from support import Server, auth, wait_for

from envoy_grpc.core.knowledge_query import parse
from envoy_grpc.gen.envoy.v1 import knowledge_pb2, knowledge_pb2_grpc
from envoy_grpc.store import knowledge_fts
from envoy_grpc.store.knowledge_fts import match_expression
from envoy_grpc.store.knowledge_types import Term


async def search(server: Server, token: str, q: str, **params: Any) -> tuple[int, Any]:
    query = urllib.parse.urlencode({"q": q, **params})
    return await server.request("GET", f"/atheneum/search?{query}", token=token)


async def post(server: Server, token: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
    got, answer = await server.request("POST", path, body, token=token)
    assert got == status, answer
    return answer


def test_query_syntax_becomes_quoted_terms() -> None:
    assert parse('evid* "duplicate  session" NEAR(a b) OR AND') == [
        Term(("evid",), prefix=True),
        Term(("duplicate", "session")),
        Term(("NEAR",)),
        Term(("a",)),
        Term(("b",)),
        Term(("OR",)),
        Term(("AND",)),
    ]
    assert parse('record_tool_call "unbalanced quote') == [
        Term(("record",)),
        Term(("tool",)),
        Term(("call",)),
        Term(("unbalanced", "quote")),
    ]
    assert parse("café 日本語 x²") == [Term(("café",)), Term(("日本語",)), Term(("x²",))]
    assert parse('" * ( ) : ^ - + 🙂 \x00') == []
    assert match_expression(parse('evid* "two words" NEAR(')) == '"evid"* AND "two words" AND "NEAR"'


PARSER_RECORDS = [
    (
        "/atheneum/discoveries",
        {
            "agent": "claude",
            "discovery_type": "Note",
            "target": "notes.md",
            "metadata": {"why": "the parser is slow, and the lexer, the printer and the cache too"},
        },
    ),
    (
        "/atheneum/discoveries",
        {
            "agent": "claude",
            "discovery_type": "Bug",
            "target": "parser.rs",
            "project_id": "envoy",
            "metadata": {"why": "parser recursion overflows: the parser recurses per token"},
        },
    ),
    (
        "/atheneum/memories",
        {"key": "parsing", "scope": "user", "content": "Never hand-roll a parser; use the parser generator."},
    ),
    ("/atheneum/handoffs", {"from_agent": "a", "to_agent": "b", "manifest": {"t": "zebra"}}),
    ("/atheneum/handoffs", {"from_agent": "a", "to_agent": "b", "manifest": {"t": "zebra"}}),
]


async def record_parser_knowledge(server: Server, token: str) -> list[int]:
    """The IDs of: a weak match, a strong match (project envoy), a memory, two identical handoffs."""
    answers = [await post(server, token, path, body) for path, body in PARSER_RECORDS]
    return [a.get("discovery_id") or a.get("handoff_id") or a["id"] for a in answers]


async def test_ranking_and_snippets_across_kinds(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    weak, strong, memory, _, _ = await record_parser_knowledge(server, token)

    status, found = await search(server, token, "parser", k=10)
    _, fewer = await search(server, token, "parser", k=1)

    assert status == 200 and found["query"] == "parser" and found["project"] is None
    ids = [r["id"] for r in found["results"]]
    assert found["count"] == 3 and set(ids) == {strong, memory, weak}
    assert ids[-1] == weak  # one mention in a longer text ranks last
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    by_id = {r["id"]: r for r in found["results"]}
    assert (by_id[strong]["kind"], by_id[strong]["name"]) == ("Discovery", "claude: parser.rs")
    assert by_id[strong]["data"]["discovery_type"] == "Bug"
    assert "**parser** recursion overflows" in by_id[strong]["snippet"]
    assert (by_id[memory]["kind"], by_id[memory]["name"]) == ("Memory", "user:parsing")
    assert "hand-roll a **parser**" in by_id[memory]["snippet"]
    assert fewer["count"] == 1 and fewer["results"][0]["id"] == ids[0]


async def test_filters_prefixes_phrases_and_ties(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    weak, strong, memory, older, newer = await record_parser_knowledge(server, token)

    _, ties = await search(server, token, "zebra")
    _, only_memories = await search(server, token, "parser", kind="Memory")
    _, in_project = await search(server, token, "parser", project="envoy")
    _, prefixed = await search(server, token, "pars*")
    _, phrase = await search(server, token, '"parser generator"')
    _, unknown_kind = await search(server, token, "parser", kind="Spaceship")

    assert [r["id"] for r in ties["results"]] == [newer, older]
    assert [r["name"] for r in ties["results"]] == ["handoff:a:b #2", "handoff:a:b"]
    assert [r["id"] for r in only_memories["results"]] == [memory]
    assert [r["id"] for r in in_project["results"]] == [strong] and in_project["project"] == "envoy"
    assert {r["id"] for r in prefixed["results"]} == {weak, strong, memory}
    assert [r["id"] for r in phrase["results"]] == [memory]
    assert "use the **parser generator**." in phrase["results"][0]["snippet"]
    assert unknown_kind == {"query": "parser", "project": None, "count": 0, "results": []}


async def record_a_session_and_a_message(server: Server) -> str:
    alice, bob = await server.register("alice"), await server.register("bob")
    sid = {"session_id": "s-42"}
    records = [
        ("/atheneum/sessions", {**sid, "agent": "claude", "project": "envoy"}, 201),
        (
            "/atheneum/prompts",
            {**sid, "role": "user", "input_hash": "h", "input_summary": "make the tokenizer incremental"},
            200,
        ),
        (
            "/atheneum/tool-calls",
            {**sid, "tool_name": "Bash", "exit_status": "success", "input_summary": "cargo bench lexer"},
            200,
        ),
        (
            "/atheneum/sessions/s-42/handover",
            {"summary": "tokenizer is incremental now; benchmarks pending"},
            200,
        ),
        (
            "/messages",
            {
                "type": "direct",
                "from": alice["agent_id"],
                "to": bob["agent_id"],
                "parts": [{"text": "please review the tokenizer change"}],
            },
            201,
        ),
    ]
    for path, body, status in records:
        await post(server, alice["token"], path, body, status)
    return str(alice["token"])


async def test_sessions_handovers_and_messages_are_indexed_and_linked_to_the_graph(server: Server) -> None:
    await server.running.graph.projector.stop()  # the graph takes the records in when told to, below
    token = await record_a_session_and_a_message(server)

    await server.running.knowledge.catch_up()
    _, before_graph = await search(server, token, "tokenizer", k=10)
    await server.running.graph.catch_up()
    _, found = await search(server, token, "tokenizer", k=10)
    _, sessions = await search(server, token, "cargo bench", kind="Session")
    _, messages = await search(server, token, "review", kind="Message", project="envoy")

    assert {r["kind"] for r in before_graph["results"]} == {"Session", "Handover", "Message"}
    assert all(r["id"] == 0 for r in before_graph["results"])
    assert [r["name"] for r in before_graph["results"]] == [r["name"] for r in found["results"]]
    by_kind = {r["kind"]: r for r in found["results"]}
    assert by_kind["Session"]["name"] == "s-42"
    assert "make the **tokenizer** incremental" in by_kind["Session"]["snippet"]
    assert "**tokenizer** is incremental now" in by_kind["Handover"]["snippet"]
    assert "review the **tokenizer** change" in by_kind["Message"]["snippet"]
    for result in found["results"]:
        status, entity = await server.request("GET", f"/atheneum/graph/entities/{result['id']}", token=token)
        assert status == 200 and entity["kind"] == result["kind"] and entity["name"] == result["name"]
    assert [r["name"] for r in sessions["results"]] == ["s-42"]
    assert messages["count"] == 0  # messages belong to no project


async def test_the_indexer_follows_new_records_within_a_second(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    await post(
        server, token, "/atheneum/sessions", {"session_id": "s-1", "agent": "claude", "project": "envoy"}
    )
    await post(
        server,
        token,
        "/atheneum/tool-calls",
        {"session_id": "s-1", "tool_name": "Grep", "exit_status": "success", "input_summary": "grep quasar"},
        200,
    )

    async def found() -> bool:
        _, body = await search(server, token, "quasar")
        return bool(body["count"])

    await wait_for(found, timeout=3.0)


HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "NEAR(",
    "NEAR(a b, 2)",
    "*",
    "a*b*",
    "OR AND",
    "AND",
    "NOT x",
    "body:x",
    "^start",
    "a - b + c",
    "(((",
    "'; DROP TABLE discovery; --",
    "日本語 テスト",
    "🙂🙂",
    "\x00\x01\x02",
    "é" * 500,
    " ".join(["NEAR(x"] * 140),
]


@pytest.mark.parametrize("q", HOSTILE)
async def test_hostile_queries_never_fail(server: Server, q: str) -> None:
    token = (await server.register("alice"))["token"]
    await post(
        server,
        token,
        "/atheneum/discoveries",
        {"agent": "a", "discovery_type": "Bug", "target": "x", "metadata": {"why": "NEAR AND OR 日本語"}},
    )

    status, body = await search(server, token, q)

    assert status == 200, body
    assert body["count"] == len(body["results"])


async def test_too_long_or_empty_queries_are_refused_with_a_reason(server: Server) -> None:
    token = (await server.register("alice"))["token"]

    stub = knowledge_pb2_grpc.KnowledgeServiceStub(server.channel)
    with pytest.raises(grpc.aio.AioRpcError) as huge:
        await stub.Search(knowledge_pb2.SearchRequest(q="NEAR(" * 2048), metadata=auth(token))
    long_status, long = await search(server, token, "x" * 3000)
    empty_status, empty = await search(server, token, "   ")
    k_status, k = await search(server, token, "x", k=-1)
    match_status, matched = await search(server, token, "NEAR")

    assert huge.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (huge.value.details() or "").startswith("q: must be at most 1000 characters, got 10240")
    assert long_status == 400 and long["error"]["message"].startswith("q: must be at most 1000 characters")
    assert (
        empty_status == 422
        and empty["error"]["code"] == "FIELD_REQUIRED"
        and "q" in empty["error"]["message"]
    )
    assert k_status == 400 and "k" in k["error"]["message"]
    assert match_status == 200 and matched["count"] == 0


async def test_prefixes_of_every_length_use_the_prefix_index_or_the_words(server: Server) -> None:
    """`prefix = '2 3'` serves 2- and 3-character prefixes; longer ones still merge the words' lists."""
    token = (await server.register("claude-main"))["token"]
    body = {"agent": "claude", "discovery_type": "Note", "target": "lexer.rs"}
    first = await post(
        server, token, "/atheneum/discoveries", {**body, "metadata": {"note": "tokenizer tokens"}}
    )
    second = await post(server, token, "/atheneum/discoveries", {**body, "metadata": {"note": "tolerance x"}})

    found = {}
    for q in ("to*", "tok*", "toke*", "tokenizer*", "tol*", "x*", "tz*"):
        _, answer = await search(server, token, q, k=10)
        found[q] = {r["id"] for r in answer["results"]}

    ids = (first["discovery_id"], second["discovery_id"])
    assert found["to*"] == set(ids) and found["tol*"] == {ids[1]} and found["x*"] == {ids[1]}
    assert found["tok*"] == found["toke*"] == found["tokenizer*"] == {ids[0]}
    assert found["tz*"] == set()


async def test_a_query_with_more_matches_than_the_cap_ranks_its_newest(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above `CANDIDATES` matches, only the newest are ranked; at or below it, the ranking is exact."""
    token = (await server.register("claude-main"))["token"]
    body = {"agent": "claude", "discovery_type": "Note", "target": "cap.rs"}
    texts = ["quokka quokka quokka", "quokka and a longer text around it", "quokka plus words", "quokka"]
    ids = []
    for text in texts:  # the oldest has the best score
        ids.append(
            (await post(server, token, "/atheneum/discoveries", {**body, "metadata": {"n": text}}))[
                "discovery_id"
            ]
        )

    _, exact = await search(server, token, "quokka", k=10)
    monkeypatch.setattr(knowledge_fts, "CANDIDATES", 4)
    _, at_cap = await search(server, token, "quokka", k=10)
    monkeypatch.setattr(knowledge_fts, "CANDIDATES", 3)
    _, capped = await search(server, token, "quokka", k=10)
    _, capped_top = await search(server, token, "quokka", k=1)

    ranked = [r["id"] for r in exact["results"]]
    assert ranked[0] == ids[0] and set(ranked) == set(ids)
    assert [r["id"] for r in at_cap["results"]] == ranked
    assert [r["id"] for r in capped["results"]] == [i for i in ranked if i != ids[0]]
    scores = {r["id"]: r["score"] for r in exact["results"]}
    assert all(scores[r["id"]] == r["score"] for r in capped["results"])  # IDF is the whole index's
    assert [r["id"] for r in capped_top["results"]] == [ranked[1]]
