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


# -- session accountability (migration 3) ---------------------------------------------------------


class Session(BaseModel):
    """A coding-agent session. The counters and `last_tool*` are kept by the server, in the same
    transaction as each record, so listing sessions never counts evidence rows."""

    id = peewee.AutoField()
    session_id = peewee.TextField(unique=True)
    agent = peewee.TextField()
    agent_id = peewee.TextField(default="")
    project = peewee.TextField()
    tool = peewee.TextField()
    trigger = peewee.TextField()
    model = peewee.TextField(null=True)
    git_branch = peewee.TextField(null=True)
    git_head = peewee.TextField(null=True)
    parent_session_id = peewee.TextField(null=True)
    started_at = peewee.FloatField()
    ended_at = peewee.FloatField(null=True)
    exit_status = peewee.TextField(null=True)
    prompt_count = peewee.BigIntegerField(default=0)
    tool_call_count = peewee.BigIntegerField(default=0)
    file_write_count = peewee.BigIntegerField(default=0)
    commit_count = peewee.BigIntegerField(default=0)
    test_run_count = peewee.BigIntegerField(default=0)
    event_count = peewee.BigIntegerField(default=0)
    last_prompt_sequence = peewee.BigIntegerField(default=0)
    last_tool = peewee.TextField(null=True)
    last_tool_summary = peewee.TextField(null=True)
    # Sums over the session's prompts; the totals given to EndSession, when given, win over them.
    prompt_input_tokens = peewee.BigIntegerField(default=0)
    prompt_output_tokens = peewee.BigIntegerField(default=0)
    prompt_cost_usd = peewee.FloatField(default=0.0)
    total_input_tokens = peewee.BigIntegerField(null=True)
    total_output_tokens = peewee.BigIntegerField(null=True)
    total_cost_usd = peewee.FloatField(null=True)


class SessionEvent(BaseModel):
    """The session event log: every record also lands here, under the original event types."""

    id = peewee.AutoField()
    session_id = peewee.TextField()
    event_type = peewee.TextField()
    entity_id = peewee.TextField()
    payload_json = peewee.TextField()
    agent_id = peewee.TextField(default="")
    created_at = peewee.FloatField()


class SessionPrompt(BaseModel):
    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    sequence = peewee.BigIntegerField()
    role = peewee.TextField()
    input_hash = peewee.TextField()
    input_summary = peewee.TextField(default="")
    output_hash = peewee.TextField(default="")
    input_tokens = peewee.BigIntegerField(null=True)
    output_tokens = peewee.BigIntegerField(null=True)
    latency_ms = peewee.BigIntegerField(null=True)
    model = peewee.TextField(default="")
    cost_usd = peewee.FloatField(null=True)
    created_at = peewee.FloatField()


class SessionToolCall(BaseModel):
    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    tool_use_id = peewee.TextField(default="")
    sequence = peewee.BigIntegerField()
    tool_name = peewee.TextField()
    tool_version = peewee.TextField(default="")
    tool_category = peewee.TextField(default="")
    exit_status = peewee.TextField()
    input_hash = peewee.TextField(default="")
    input_summary = peewee.TextField(default="")
    output_hash = peewee.TextField(default="")
    output_summary = peewee.TextField(default="")
    latency_ms = peewee.BigIntegerField(null=True)
    input_tokens_est = peewee.BigIntegerField(null=True)
    file_paths_json = peewee.TextField(default="[]")
    created_at = peewee.FloatField()


class SessionFileWrite(BaseModel):
    """A file written by a session. `project` is copied from the session and `path_key` is the
    reversed `/<file_path>`, so "every write to a path ending in src/main.rs" is an index range."""

    id = peewee.AutoField()
    session_id = peewee.TextField()
    project = peewee.TextField()
    agent_id = peewee.TextField(default="")
    tool_use_id = peewee.TextField(default="")
    file_path = peewee.TextField()
    path_key = peewee.TextField()
    file_id = peewee.TextField(default="")
    before_hash = peewee.TextField(default="")
    after_hash = peewee.TextField(default="")
    lines_added = peewee.BigIntegerField(null=True)
    lines_deleted = peewee.BigIntegerField(null=True)
    lines_changed = peewee.BigIntegerField(null=True)
    write_type = peewee.TextField(default="")
    created_at = peewee.FloatField()


class SessionCommit(BaseModel):
    """A commit; a placeholder (from a fix chain naming an unknown SHA) until RecordCommit completes it."""

    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    commit_sha = peewee.TextField()
    parent_sha = peewee.TextField(null=True)
    message = peewee.TextField(default="")
    author = peewee.TextField(default="")
    commit_type = peewee.TextField(default="")
    files_changed = peewee.BigIntegerField(default=0)
    lines_inserted = peewee.BigIntegerField(default=0)
    lines_deleted = peewee.BigIntegerField(default=0)
    file_paths_json = peewee.TextField(default="[]")
    feature_tag = peewee.TextField(null=True)
    placeholder = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()


class SessionTestRun(BaseModel):
    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    tool_use_id = peewee.TextField(default="")
    test_name = peewee.TextField()
    result = peewee.TextField()
    test_suite = peewee.TextField(default="")
    test_command = peewee.TextField(default="")
    duration_ms = peewee.BigIntegerField(null=True)
    logs_summary = peewee.TextField(default="")
    commit_sha = peewee.TextField(null=True)
    commit_id = peewee.BigIntegerField(null=True)
    created_at = peewee.FloatField()


class SessionFixChain(BaseModel):
    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    bug_commit_sha = peewee.TextField()
    fix_commit_sha = peewee.TextField()
    fix_type = peewee.TextField()
    severity = peewee.TextField()
    cycles_to_fix = peewee.BigIntegerField(null=True)
    time_to_fix_ms = peewee.BigIntegerField(null=True)
    created_at = peewee.FloatField()


class SessionBenchRun(BaseModel):
    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    bench_name = peewee.TextField()
    mean_ns = peewee.BigIntegerField(null=True)
    median_ns = peewee.BigIntegerField(null=True)
    p95_ns = peewee.BigIntegerField(null=True)
    is_regression = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()


class SessionHandover(BaseModel):
    """What a session handed back, with the verdict computed when it was recorded (never later)."""

    id = peewee.AutoField()
    session_id = peewee.TextField()
    agent_id = peewee.TextField(default="")
    to_agent = peewee.TextField(default="")
    to_session_id = peewee.TextField(null=True)
    summary = peewee.TextField()
    files_changed_json = peewee.TextField(default="[]")
    outcome = peewee.TextField()
    last_assistant_message = peewee.TextField(null=True)
    transcript_path = peewee.TextField(null=True)
    verified = peewee.BooleanField(default=False)
    verification_reasons_json = peewee.TextField(default="[]")
    created_at = peewee.FloatField()


class ProjectEvent(BaseModel):
    """A project event (gate, hook, CI, doc, verify) or, under project `_envoy_audit`, an audit entry."""

    id = peewee.AutoField()
    project = peewee.TextField()
    event_type = peewee.TextField()
    severity = peewee.TextField()
    source = peewee.TextField()
    message = peewee.TextField()
    data_json = peewee.TextField()
    session_id = peewee.TextField(null=True)
    agent_id = peewee.TextField(default="")
    task_id = peewee.TextField(null=True)
    created_at = peewee.FloatField()
