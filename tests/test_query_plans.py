"""The hot queries use indexes: no poll, replay or redelivery scan reads every delivery or message."""

from __future__ import annotations

from pathlib import Path

from envoy_grpc.store.db import Database
from envoy_grpc.store.messages import _IS_AWAITING_ACK, _IS_OPEN, _deliveries_query
from envoy_grpc.store.models import Delivery


def plan(db: Database, query: object) -> str:
    sql, params = query.sql()  # type: ignore[attr-defined]
    rows = db.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


async def test_the_delivery_queries_use_indexes(tmp_path: Path) -> None:
    db = Database(tmp_path / "envoy.db", readers=1)
    await db.open()
    try:
        replay = (
            _deliveries_query()
            .where((Delivery.agent_id == "id2") & _IS_OPEN & (Delivery.sequence > 5))
            .order_by(Delivery.sequence)
            .limit(100)
        )
        due = _deliveries_query().where(_IS_AWAITING_ACK & (Delivery.next_attempt_at <= 1.0))
        by_message = _deliveries_query().where(Delivery.message == 7)
        plans = await db.read(lambda: [plan(db, q) for q in (replay, due, by_message)])
    finally:
        await db.close()

    for text in plans:
        assert "SCAN delivery" not in text, text
        assert "SCAN message" not in text, text
    assert "delivery_open" in plans[0]
    assert "delivery_due" in plans[1]
