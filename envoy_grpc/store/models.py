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
    # The sequence number of the agent's last delivery (its deliveries are numbered 1, 2, 3, ...).
    last_sequence = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("name", "lifecycle"), False),)


class Message(BaseModel):
    """A message as sent: one row however many recipients it has."""

    id = peewee.AutoField()
    type = peewee.TextField()
    sender = peewee.TextField()
    to_agent = peewee.TextField(default="")
    topic = peewee.TextField(default="")
    task_id = peewee.TextField(null=True)
    context_id = peewee.TextField(null=True)
    # The parts exactly as the API shows them: [{"text": ...}, {"data": ...}, {"url": ...}].
    parts_json = peewee.TextField()
    created_at = peewee.FloatField()
    expires_at = peewee.FloatField(null=True)
    idempotency_key = peewee.TextField(null=True)
    # SHA-256 of the canonical request body: a repeated idempotency key must carry the same body.
    body_hash = peewee.TextField()
    require_ack = peewee.BooleanField(default=False)
    urgent = peewee.BooleanField(default=False)
    recipients_json = peewee.TextField(default="[]")


class Delivery(BaseModel):
    """One recipient's copy of a message: its sequence number and where its delivery stands."""

    id = peewee.AutoField()
    message = peewee.ForeignKeyField(Message, column_name="message_id", on_delete="CASCADE", lazy_load=False)
    agent_id = peewee.TextField()
    sequence = peewee.BigIntegerField()
    state = peewee.TextField(default="stored")
    delivery_count = peewee.IntegerField(default=0)
    first_delivered_at = peewee.FloatField(null=True)
    last_delivered_at = peewee.FloatField(null=True)
    surfaced_at = peewee.FloatField(null=True)
    acked_at = peewee.FloatField(null=True)
    next_attempt_at = peewee.FloatField(null=True)
    expires_at = peewee.FloatField(null=True)


class TopicSubscription(BaseModel):
    """An agent's interest in topics matching a pattern."""

    id = peewee.AutoField()
    agent_id = peewee.TextField()
    pattern = peewee.TextField()
    created_at = peewee.FloatField()
