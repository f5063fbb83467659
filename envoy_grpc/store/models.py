"""peewee models: the tables as the application sees them.

Times are stored as float seconds since the epoch (UTC). Models are bound through a proxy that
`Database` initialises, so one process serves one database at a time.
"""

from __future__ import annotations

import peewee

database_proxy = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Counter(BaseModel):
    """Named monotonic counters, such as the number of the next root agent. Never decremented."""

    name = peewee.TextField(primary_key=True)
    value = peewee.BigIntegerField(default=0)


class Agent(BaseModel):
    """A registered agent. Rows are never deleted by normal operation, so IDs are never reused."""

    id = peewee.AutoField()
    agent_id = peewee.TextField(unique=True)
    # Zero-padded ID segments (`00000002.00000001` for id2.1): sorts agents in ID order.
    sort_key = peewee.TextField(unique=True)
    name = peewee.TextField()
    kind = peewee.TextField()
    parent_id = peewee.TextField(null=True, index=True)
    lifecycle = peewee.TextField(default="active")
    status_json = peewee.TextField(null=True)
    last_heartbeat_at = peewee.FloatField(null=True)
    created_at = peewee.FloatField()
    retired_at = peewee.FloatField(null=True)
    # SHA-256 of the current token; NULL once retired (the token is revoked).
    token_hash = peewee.TextField(null=True, unique=True)
    # Children ever created under this agent: the next child is number child_count + 1.
    child_count = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("name", "lifecycle"), False),)
