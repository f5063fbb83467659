"""How many mistakes a query may hold, which strings are one mistake away, and the distances kept."""

from __future__ import annotations

from rapidfuzz.distance import OSA

from envoy_grpc.core import code_fuzzy


def test_short_queries_allow_no_mistake_long_ones_two() -> None:
    assert [code_fuzzy.allowed_mistakes("x" * n) for n in (1, 3, 4, 8, 9, 40)] == [0, 0, 1, 1, 2, 2]


def test_every_neighbour_is_exactly_one_mistake_away_and_the_typical_typos_are_there() -> None:
    near = code_fuzzy.one_mistake_away("route")

    assert {"rotue", "rute", "routes", "xroute", "rouse", "orute"} <= near
    assert "route" not in near
    assert all(OSA.distance("route", n) == 1 for n in near)
    # Each position takes every identifier letter inserted or replaced, so a few hundred in all.
    assert 300 < len(near) < 500


def test_pieces_cover_the_query_in_order() -> None:
    assert code_fuzzy.pieces("build_router", 3) == ["buil", "d_ro", "uter"]
    assert code_fuzzy.pieces("make_routes", 3) == ["make", "_rou", "tes"]
    assert "".join(code_fuzzy.pieces("abcdefghij", 3)) == "abcdefghij"


def test_closest_keeps_names_within_the_allowed_mistakes_with_their_distance() -> None:
    named = [("build_router", "a"), ("biuld_router", "b"), ("buildxrouter", "c"), ("router", "d")]

    assert code_fuzzy.closest("build_router", named, 2) == [(0, "a"), (1, "b"), (1, "c")]
    assert code_fuzzy.closest("biuld_router", named, 1) == [(1, "a"), (0, "b")]
