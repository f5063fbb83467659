// The Claude Code hook adapter. Claude Code runs hooks at fixed points of a
// session; pointed at this service, they turn every session into the records
// of SessionService (sessions, prompts, tool calls, file writes, test runs,
// handovers) and let the server push messages into the live session.
//
// Two ways in, both ending in HookService.HandleClaudeHook:
// - A `"type": "http"` hook POSTs Claude Code's payload to `/hooks/claude`
//   with `Authorization: Bearer <hook token>` and reads the response body as
//   its hook output.
// - A `"type": "command"` hook runs `envoy-grpc hook`, which reads the payload
//   on stdin, POSTs it to `$ENVOY_URL/hooks/claude` (default
//   `http://127.0.0.1:9876`) with the hook token from `$ENVOY_HOME/hook.token`,
//   and prints the hook output.
// `envoy-grpc hooks install` writes either configuration into Claude Code's
// settings without touching other hooks.
//
// Identities. Each Claude Code session (`session_id`) gets a session record
// and one root agent named `claude-<first 8 characters of session_id>`, kind
// `claude`; a resumed session keeps its agent, returned to active if
// SessionEnd had retired it. Each subagent (the payload's `agent_id`, present
// on every event that happens inside a subagent) gets a child of the
// session's agent (`id3.1`, `id3.2`, … in order of first appearance; the same
// payload `agent_id` always maps to the same child) and a session of its own
// named `<session_id>.<agent_id>`, with `parent_session_id` the top-level
// session, `agent` the payload's `agent_type`, tool `claude-code` and trigger
// `subagent`. An event whose payload carries `agent_id` is recorded in the
// subagent's session, under the child agent. The project is the name of the
// git work tree that contains `cwd`, or the last component of `cwd` outside
// git; `git_branch` and `git_head` are read from that work tree when the
// server can see it, and are null otherwise. An event for a session not
// recorded yet (hooks installed mid-session) first records it as a
// SessionStart with `source: "resume"` would.
//
// Events understood, with what each records and returns (every payload also
// has `session_id`, `transcript_path`, `cwd`, `permission_mode` and
// `hook_event_name`):
// - `SessionStart` (`source`: `startup`, `resume`, `clear` or `compact`;
//   `model`): records the session (agent `claude-<8>`, tool `claude-code`,
//   trigger the `source`, the model, git branch and head) and registers its
//   agent, or reopens a recorded session. Returns additional context with
//   the agent's ID and its unread messages.
// - `UserPromptSubmit` (`prompt`): records a prompt with role `user`,
//   `input_hash` the SHA-256 of the prompt in hex and `input_summary` its
//   first 200 characters; reopens the session if a Stop ended it. Returns
//   additional context with the unread messages.
// - `PreToolUse` (`tool_name`, `tool_input`, `tool_use_id`): records nothing
//   durable; remembers when the call started, so that the matching
//   PostToolUse or PostToolUseFailure can fill `latency_ms`. File leases are
//   enforced here: a Write, Edit, MultiEdit or NotebookEdit (or Codex
//   `apply_patch`) of a file that another agent holds an exclusive lease on
//   (LeaseService; the path taken relative to `cwd`, in the session's
//   project; the agent's own leases and those of its parent and subagents do
//   not count) returns `{"hookSpecificOutput": {"hookEventName":
//   "PreToolUse", "permissionDecision": "deny",
//   "permissionDecisionReason": <the holder, the lease, its reason and
//   expiry>}}`, and the holder gets a system message saying who tried (at
//   most one a minute per lease, agent and file). Otherwise returns `{}`,
//   which leaves the permission decision to Claude Code.
// - `PostToolUse` (`tool_name`, `tool_input`, `tool_response`,
//   `tool_use_id`): records a tool call keyed by `tool_use_id`, with
//   `exit_status` `success` (`error` or `interrupted` when the response says
//   so), input and output summaries (at most 140 and 200 characters) and
//   hashes, the tool category (`shell`, `file_read`, `file_write`, `agent`,
//   `network`, `mcp` or `other`) and the files the input names. Write, Edit,
//   MultiEdit and NotebookEdit also record a file write per file
//   (`write_type` `create` for Write, `edit` otherwise). A Bash command that
//   runs tests (`pytest`, `python -m pytest`, `cargo test`, `go test`,
//   `npm test`, `pnpm test`, `yarn test`, `bun test`, …) also records a test
//   run with result `passed`. Returns additional context with the unread
//   messages.
// - `PostToolUseFailure` (`tool_name`, `tool_input`, `tool_use_id`,
//   `error`, `is_interrupt`): records the tool call with `exit_status`
//   `error` (`interrupted` when `is_interrupt` is true) and the error as its
//   output summary; a test command records a test run with result `failed`.
//   Returns `{}`.
// - `SubagentStart` (`agent_id`, `agent_type`): registers the subagent's
//   child agent and records its session. Returns additional context, shown
//   to the subagent, with its agent ID and unread messages.
// - `SubagentStop` (`agent_id`, `agent_type`, `agent_transcript_path`,
//   `last_assistant_message`, `stop_hook_active`): records a handover from
//   the subagent's session to the session's agent and session (summary the
//   first 300 characters of `last_assistant_message`, the full message, the
//   transcript path, the files the subagent's session wrote, outcome
//   `complete`), judged verified or not as SessionService.RecordHandover
//   describes; then ends the subagent's session with `exit_status`
//   `complete`. Returns `{}`.
// - `Stop` (`stop_hook_active`, `last_assistant_message`): if the agent has
//   an unread urgent message (Message.urgent) and `stop_hook_active` is
//   false, returns `{"decision": "block", "reason": <the messages>}`, which
//   keeps Claude working so it reads them, and records nothing else.
//   Otherwise ends the session with `exit_status` `stop` (the next prompt or
//   SessionStart reopens it) and returns `{}`. With `stop_hook_active` true
//   it never blocks, so Claude Code cannot loop.
// - `SessionEnd` (`reason`: `clear`, `resume`, `logout`,
//   `prompt_input_exit`, `other`, …): ends the session with `exit_status` the
//   `reason` (`other` when absent), ends its open subagent sessions, and
//   retires the session's agent and its children. Returns `{}`.
// - `PreCompact` (`trigger`: `manual` or `auto`; `custom_instructions`):
//   records a `pre_compact` event in the session's log with payload
//   `{trigger, custom_instructions}`; the SessionStart (`compact`) that
//   follows gives the agent its identity again. Returns `{}`.
// - `Notification` (`message`, `title`, `notification_type`): records a
//   `notification` event and a heartbeat of the agent: state `idle` for
//   `idle_prompt`, `blocked` with the message as `blocked_reason` for
//   `permission_prompt` and `elicitation_dialog`, otherwise `working`.
//   Returns `{}`.
// Any other `hook_event_name` records nothing and returns `{}`.
//
// Push delivery. Additional context is returned as
// `{"hookSpecificOutput": {"hookEventName": <event>, "additionalContext":
// <text>}}`. Its unread messages are those of the event's agent (the child
// agent inside a subagent), oldest first, each with its ID and sender; they
// are marked surfaced. A surfaced message counts as acknowledged and appears
// in no later response, unless it was sent with `require_ack: true`
// (Message.require_ack): it then stays pending until the agent acks it, and
// is surfaced again at most once per ack wait. After a subagent's handover,
// the parent's next additional context also gives its verdict (verified, or
// not verified with the reasons).
//
// Fail open. The adapter never breaks a Claude Code session. Unknown payload
// fields are ignored and missing ones count as empty. The only blocking
// outputs it ever produces are the Stop decision and the lease denial
// above: it never denies a prompt. When the server cannot handle a hook, the call fails and
// Claude Code treats the failed http hook as a non-blocking error and carries
// on; `envoy-grpc hook` prints nothing and exits 0 on any error, on timeout
// and when the server is unreachable.
//
// Codex. Codex's lifecycle hooks (`~/.codex/hooks.json` or
// `<repo>/.codex/hooks.json`, the same shape as Claude Code's `hooks`
// settings) send Claude Code's payload shape with a `turn_id`, and read the
// same outputs; HookService.HandleCodexHook (`POST /hooks/codex`) records
// them exactly as described above for Claude Code, with these differences:
// - The session's agent is `codex-<first 8 characters of session_id>`, kind
//   `codex` (subagents: kind the payload's `agent_type`, else
//   `codex-subagent`); the session's `tool` and `agent` are `codex`.
// - The shell tool is recorded as `Bash` whatever the Codex build calls it
//   (`shell`, `local_shell`, `exec_command`, `unified_exec`), its command an
//   argv such as `["bash", "-lc", "pytest -q"]` made one line (`pytest -q`),
//   so test runs are recognised as for Claude Code.
// - `apply_patch` (category `file_write`) records a file write for each
//   file its patch names: `*** Add File: p` as `create`, `*** Update File:
//   p` as `edit`, `*** Delete File: p` as `delete`, and the target of a
//   `*** Move to: p` as `create`. MCP tools (`mcp__<server>__<tool>`) are
//   category `mcp` (for Claude Code too).
// - `PermissionRequest` records nothing and returns `{}`, which leaves the
//   decision to Codex.
// - The notify program's JSON (`notify = [...]` in `~/.codex/config.toml`;
//   Codex appends it as the last argument), `{"type":
//   "agent-turn-complete", "thread-id", "turn-id", "cwd", "client",
//   "input-messages": [...], "last-assistant-message"}`, is a finished turn:
//   the session is `thread-id` (the same ID the hooks call `session_id`);
//   it records the last input message as a prompt (as UserPromptSubmit
//   does) unless a UserPromptSubmit with the same `turn_id` was already
//   recorded by this server process, then ends the session with
//   `exit_status` `stop` as Stop does. Returns `{}` (Codex ignores a notify
//   program's output).
//
// Cursor. Cursor's hooks (`.cursor/hooks.json`, `{"version": 1, "hooks":
// {"<camelCaseEvent>": [{"command": "..."}]}}`) send `conversation_id`,
// `generation_id`, `workspace_roots` and `hook_event_name` with every
// event. HookService.HandleCursorHook (`POST /hooks/cursor`) records them
// onto the same records: the session is `conversation_id`, its agent
// `cursor-<first 8 characters>` (kind `cursor`, tool `cursor`), the project
// the last component of `workspace_roots[0]`. Events, what each records
// and what it returns:
// - `sessionStart`: as SessionStart (source `startup`); returns
//   `{"additional_context": <the agent's ID and unread messages>}`.
// - `sessionEnd` (`reason`): as SessionEnd; returns `{}`.
// - `beforeSubmitPrompt` (`prompt`): records the prompt as
//   UserPromptSubmit; returns `{"continue": true}`. Cursor shows the agent
//   nothing from this event, so unread messages are not surfaced here.
// - `beforeShellExecution` (`command`, `cwd`), `beforeMCPExecution`
//   (`tool_name`, `tool_input`) and `preToolUse` (`tool_name`,
//   `tool_input`): as PreToolUse; record nothing and return
//   `{"permission": "allow"}` (`{"permission": "deny", "user_message",
//   "agent_message"}` when the server objects to the call).
// - `afterShellExecution` (`command`, `output`): records a `Bash` tool call
//   with the output as its output summary, and a test run for a test
//   command. Returns `{}`.
// - `afterMCPExecution` (`tool_name`, `tool_input`, `result_json`): records
//   a tool call `MCP:<tool_name>`, category `mcp`. Returns `{}`.
// - `beforeReadFile` (`file_path`, `content`): records a `Read` tool call
//   (the only sign of a read Cursor gives; the content counts towards the
//   knowledge savings estimate). Returns `{"permission": "allow"}`.
// - `afterFileEdit` (`file_path`, `edits`): records an `Edit` tool call and
//   a file write (`write_type` `edit`). Returns `{}`.
// - `postToolUse` (`tool_name`, `tool_input`, `tool_output`): for a tool the
//   events above do not cover (Grep, Task, WebFetch, …) records the tool
//   call; for Shell, Read, Write, Edit, StrReplace, MultiEdit and Delete it
//   records nothing, so no call counts twice. Either way returns
//   `{"additional_context": <unread messages>}` when there are any.
// - `stop` (`status`, `loop_count`): as Stop, with `loop_count` above 0
//   taken as `stop_hook_active`; an unread urgent message returns
//   `{"followup_message": <the messages>}`, which Cursor sends as the next
//   prompt; otherwise ends the turn and returns `{}`.
// - Any other event records nothing (`subagentStart` answers
//   `{"permission": "allow"}`, the others `{}`).
// Cursor's older events carry no tool call ID: the server derives one from
// `generation_id` and the call, so a repeated payload is recorded once.

// @generated by protoc-gen-es v2.13.0 with parameter "target=ts,import_extension=js"
// @generated from file envoy/v1/hooks.proto (package envoy.v1, syntax proto3)
/* eslint-disable */

import type { GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { fileDesc, messageDesc, serviceDesc } from "@bufbuild/protobuf/codegenv2";
import { file_google_api_annotations } from "../../google/api/annotations_pb.js";
import { file_google_api_field_behavior } from "../../google/api/field_behavior_pb.js";
import { file_google_protobuf_struct } from "@bufbuild/protobuf/wkt";
import type { JsonObject, Message } from "@bufbuild/protobuf";

/**
 * Describes the file envoy/v1/hooks.proto.
 */
export const file_envoy_v1_hooks: GenFile = /*@__PURE__*/
  fileDesc("ChRlbnZveS92MS9ob29rcy5wcm90bxIIZW52b3kudjEiNAoXUmVzb2x2ZUhvb2tBZ2VudFJlcXVlc3QSGQoLaGFybmVzc19waWQYASABKANCBOJBAQIiYAoYUmVzb2x2ZUhvb2tBZ2VudFJlc3BvbnNlEhAKCGFnZW50X2lkGAEgASgJEhIKCnNlc3Npb25faWQYAiABKAkSDwoHcHJvamVjdBgDIAEoCRINCgV0b2tlbhgEIAEoCSJJChdIYW5kbGVDbGF1ZGVIb29rUmVxdWVzdBIuCgdwYXlsb2FkGAEgASgLMhcuZ29vZ2xlLnByb3RvYnVmLlN0cnVjdEIE4kEBAiJDChhIYW5kbGVDbGF1ZGVIb29rUmVzcG9uc2USJwoGb3V0cHV0GAEgASgLMhcuZ29vZ2xlLnByb3RvYnVmLlN0cnVjdCJIChZIYW5kbGVDb2RleEhvb2tSZXF1ZXN0Ei4KB3BheWxvYWQYASABKAsyFy5nb29nbGUucHJvdG9idWYuU3RydWN0QgTiQQECIkIKF0hhbmRsZUNvZGV4SG9va1Jlc3BvbnNlEicKBm91dHB1dBgBIAEoCzIXLmdvb2dsZS5wcm90b2J1Zi5TdHJ1Y3QiSQoXSGFuZGxlQ3Vyc29ySG9va1JlcXVlc3QSLgoHcGF5bG9hZBgBIAEoCzIXLmdvb2dsZS5wcm90b2J1Zi5TdHJ1Y3RCBOJBAQIiQwoYSGFuZGxlQ3Vyc29ySG9va1Jlc3BvbnNlEicKBm91dHB1dBgBIAEoCzIXLmdvb2dsZS5wcm90b2J1Zi5TdHJ1Y3QylAQKC0hvb2tTZXJ2aWNlEoEBChBIYW5kbGVDbGF1ZGVIb29rEiEuZW52b3kudjEuSGFuZGxlQ2xhdWRlSG9va1JlcXVlc3QaIi5lbnZveS52MS5IYW5kbGVDbGF1ZGVIb29rUmVzcG9uc2UiJoLT5JMCIDoHcGF5bG9hZGIGb3V0cHV0Ig0vaG9va3MvY2xhdWRlEn0KD0hhbmRsZUNvZGV4SG9vaxIgLmVudm95LnYxLkhhbmRsZUNvZGV4SG9va1JlcXVlc3QaIS5lbnZveS52MS5IYW5kbGVDb2RleEhvb2tSZXNwb25zZSIlgtPkkwIfOgdwYXlsb2FkYgZvdXRwdXQiDC9ob29rcy9jb2RleBKBAQoQSGFuZGxlQ3Vyc29ySG9vaxIhLmVudm95LnYxLkhhbmRsZUN1cnNvckhvb2tSZXF1ZXN0GiIuZW52b3kudjEuSGFuZGxlQ3Vyc29ySG9va1Jlc3BvbnNlIiaC0+STAiA6B3BheWxvYWRiBm91dHB1dCINL2hvb2tzL2N1cnNvchJ+ChBSZXNvbHZlSG9va0FnZW50EiEuZW52b3kudjEuUmVzb2x2ZUhvb2tBZ2VudFJlcXVlc3QaIi5lbnZveS52MS5SZXNvbHZlSG9va0FnZW50UmVzcG9uc2UiI4LT5JMCHRIbL2hvb2tzL2FnZW50cy97aGFybmVzc19waWR9QlIKEGRldi5lbnZveWdycGMudjFQAVo8Z2l0aHViLmNvbS9lbnZveS1ncnBjL2Vudm95LWdycGMvY2xpZW50cy9nby9lbnZveS92MTtlbnZveXYxYgZwcm90bzM", [file_google_api_annotations, file_google_api_field_behavior, file_google_protobuf_struct]);

/**
 * The request of HookService.ResolveHookAgent.
 *
 * @generated from message envoy.v1.ResolveHookAgentRequest
 */
export type ResolveHookAgentRequest = Message<"envoy.v1.ResolveHookAgentRequest"> & {
  /**
   * The process ID of the coding harness (the Claude Code process) whose
   * session agent is wanted: the nearest ancestor of the caller that is not
   * a shell, as `envoy-grpc hook` reports it with every hook call.
   *
   * @generated from field: int64 harness_pid = 1;
   */
  harnessPid: bigint;
};

/**
 * Describes the message envoy.v1.ResolveHookAgentRequest.
 * Use `create(ResolveHookAgentRequestSchema)` to create a new message.
 */
export const ResolveHookAgentRequestSchema: GenMessage<ResolveHookAgentRequest> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 0);

/**
 * The response of HookService.ResolveHookAgent.
 *
 * @generated from message envoy.v1.ResolveHookAgentResponse
 */
export type ResolveHookAgentResponse = Message<"envoy.v1.ResolveHookAgentResponse"> & {
  /**
   * The session's agent.
   *
   * @generated from field: string agent_id = 1;
   */
  agentId: string;

  /**
   * The hook session's ID.
   *
   * @generated from field: string session_id = 2;
   */
  sessionId: string;

  /**
   * The session's project.
   *
   * @generated from field: string project = 3;
   */
  project: string;

  /**
   * A new bearer token for `agent_id`; the agent's previous token stops
   * working.
   *
   * @generated from field: string token = 4;
   */
  token: string;
};

/**
 * Describes the message envoy.v1.ResolveHookAgentResponse.
 * Use `create(ResolveHookAgentResponseSchema)` to create a new message.
 */
export const ResolveHookAgentResponseSchema: GenMessage<ResolveHookAgentResponse> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 1);

/**
 * The request of HookService.HandleClaudeHook.
 *
 * @generated from message envoy.v1.HandleClaudeHookRequest
 */
export type HandleClaudeHookRequest = Message<"envoy.v1.HandleClaudeHookRequest"> & {
  /**
   * The hook payload exactly as Claude Code sends it on stdin or in the
   * http hook's body, such as `{"session_id": "…", "hook_event_name":
   * "PostToolUse", "tool_name": "Bash", "tool_input": {…}, "tool_response":
   * {…}, "tool_use_id": "…", "cwd": "…"}`. At most 1 MiB of JSON.
   *
   * @generated from field: google.protobuf.Struct payload = 1;
   */
  payload?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleClaudeHookRequest.
 * Use `create(HandleClaudeHookRequestSchema)` to create a new message.
 */
export const HandleClaudeHookRequestSchema: GenMessage<HandleClaudeHookRequest> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 2);

/**
 * The response of HookService.HandleClaudeHook.
 *
 * @generated from message envoy.v1.HandleClaudeHookResponse
 */
export type HandleClaudeHookResponse = Message<"envoy.v1.HandleClaudeHookResponse"> & {
  /**
   * The hook output for Claude Code, in Claude Code's own keys: empty (`{}`)
   * when there is nothing to say; `{"hookSpecificOutput": {"hookEventName",
   * "additionalContext"}}` to add context to the session; `{"decision":
   * "block", "reason"}` to keep a Stop from ending the turn.
   *
   * @generated from field: google.protobuf.Struct output = 1;
   */
  output?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleClaudeHookResponse.
 * Use `create(HandleClaudeHookResponseSchema)` to create a new message.
 */
export const HandleClaudeHookResponseSchema: GenMessage<HandleClaudeHookResponse> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 3);

/**
 * The request of HookService.HandleCodexHook.
 *
 * @generated from message envoy.v1.HandleCodexHookRequest
 */
export type HandleCodexHookRequest = Message<"envoy.v1.HandleCodexHookRequest"> & {
  /**
   * The payload exactly as Codex sends it: a hook event on stdin
   * (`{"session_id": "…", "turn_id": "…", "hook_event_name": "PostToolUse",
   * "tool_name": "apply_patch", "tool_input": {…}, "tool_response": …,
   * "cwd": "…"}`) or the notify program's last argument (`{"type":
   * "agent-turn-complete", "thread-id": "…", …}`). At most 1 MiB of JSON.
   *
   * @generated from field: google.protobuf.Struct payload = 1;
   */
  payload?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleCodexHookRequest.
 * Use `create(HandleCodexHookRequestSchema)` to create a new message.
 */
export const HandleCodexHookRequestSchema: GenMessage<HandleCodexHookRequest> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 4);

/**
 * The response of HookService.HandleCodexHook.
 *
 * @generated from message envoy.v1.HandleCodexHookResponse
 */
export type HandleCodexHookResponse = Message<"envoy.v1.HandleCodexHookResponse"> & {
  /**
   * The hook output for Codex, in the keys Codex shares with Claude Code:
   * empty (`{}`) when there is nothing to say; `{"hookSpecificOutput":
   * {"hookEventName", "additionalContext"}}` to add context; `{"decision":
   * "block", "reason"}` to keep a Stop from ending the turn.
   *
   * @generated from field: google.protobuf.Struct output = 1;
   */
  output?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleCodexHookResponse.
 * Use `create(HandleCodexHookResponseSchema)` to create a new message.
 */
export const HandleCodexHookResponseSchema: GenMessage<HandleCodexHookResponse> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 5);

/**
 * The request of HookService.HandleCursorHook.
 *
 * @generated from message envoy.v1.HandleCursorHookRequest
 */
export type HandleCursorHookRequest = Message<"envoy.v1.HandleCursorHookRequest"> & {
  /**
   * The hook payload exactly as Cursor sends it on stdin, such as
   * `{"conversation_id": "…", "generation_id": "…", "workspace_roots":
   * ["/home/dev/app"], "hook_event_name": "afterFileEdit", "file_path": "…",
   * "edits": [...]}`. At most 1 MiB of JSON.
   *
   * @generated from field: google.protobuf.Struct payload = 1;
   */
  payload?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleCursorHookRequest.
 * Use `create(HandleCursorHookRequestSchema)` to create a new message.
 */
export const HandleCursorHookRequestSchema: GenMessage<HandleCursorHookRequest> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 6);

/**
 * The response of HookService.HandleCursorHook.
 *
 * @generated from message envoy.v1.HandleCursorHookResponse
 */
export type HandleCursorHookResponse = Message<"envoy.v1.HandleCursorHookResponse"> & {
  /**
   * The hook output in Cursor's keys: `{"permission": "allow"}` for the
   * before-events and preToolUse; `{"continue": true}` for
   * beforeSubmitPrompt; `{"followup_message"}` when a stop must not end the
   * turn; `{"additional_context"}` at sessionStart and postToolUse when there
   * are unread messages; `{}` otherwise.
   *
   * @generated from field: google.protobuf.Struct output = 1;
   */
  output?: JsonObject | undefined;
};

/**
 * Describes the message envoy.v1.HandleCursorHookResponse.
 * Use `create(HandleCursorHookResponseSchema)` to create a new message.
 */
export const HandleCursorHookResponseSchema: GenMessage<HandleCursorHookResponse> = /*@__PURE__*/
  messageDesc(file_envoy_v1_hooks, 7);

/**
 * Turns coding-agent hook events into session records and answers with hook
 * output that pushes messages into the session.
 *
 * @generated from service envoy.v1.HookService
 */
export const HookService: GenService<{
  /**
   * Handles one Claude Code hook event: records what the event says (see the
   * list at the top of this file) and returns the hook output for Claude
   * Code. Over HTTP the request body is Claude Code's payload and the
   * response body is the hook output, both as Claude Code writes them
   * (camelCase keys such as `hookSpecificOutput` pass through untouched);
   * the output is `{}` when there is nothing to say.
   *
   * Authenticates with the hook token (`hook.token` in the data directory)
   * or the operator token; an agent token gets PERMISSION_DENIED and no
   * token UNAUTHENTICATED. Returns INVALID_ARGUMENT naming
   * `payload.session_id` or `payload.hook_event_name` when one is missing or
   * not a string; nothing is recorded then.
   *
   * The records are committed before the call returns; knowledge-graph
   * indexing may follow shortly after. Repeating a payload is safe for
   * SessionStart, SubagentStart, PreToolUse, PostToolUse,
   * PostToolUseFailure, Stop and SessionEnd (keyed by `session_id`,
   * `agent_id` and `tool_use_id`); a repeated UserPromptSubmit, SubagentStop,
   * PreCompact or Notification is recorded again.
   *
   * @generated from rpc envoy.v1.HookService.HandleClaudeHook
   */
  handleClaudeHook: {
    methodKind: "unary";
    input: typeof HandleClaudeHookRequestSchema;
    output: typeof HandleClaudeHookResponseSchema;
  },
  /**
   * Handles one Codex hook event or one notify JSON (see "Codex" at the top
   * of this file) and returns the hook output for Codex, in Claude Code's
   * keys (Codex reads the same). Over HTTP the request body is Codex's
   * payload and the response body the output (`{}` when there is nothing to
   * say).
   *
   * Authenticates as HandleClaudeHook does. Returns INVALID_ARGUMENT naming
   * `payload.session_id` or `payload.hook_event_name` when a hook payload
   * lacks one, and `payload.thread-id` when a notify JSON lacks it; nothing
   * is recorded then. Commits before returning, and is as safe to repeat as
   * HandleClaudeHook; a repeated notify records its prompt again unless the
   * turn's UserPromptSubmit was recorded.
   *
   * @generated from rpc envoy.v1.HookService.HandleCodexHook
   */
  handleCodexHook: {
    methodKind: "unary";
    input: typeof HandleCodexHookRequestSchema;
    output: typeof HandleCodexHookResponseSchema;
  },
  /**
   * Handles one Cursor hook event (see "Cursor" at the top of this file)
   * and returns the hook output in Cursor's own keys (`permission`,
   * `continue`, `followup_message`, `additional_context`). Over HTTP the
   * request body is Cursor's payload and the response body the output.
   *
   * Authenticates as HandleClaudeHook does. Returns INVALID_ARGUMENT naming
   * `payload.conversation_id` or `payload.hook_event_name` when one is
   * missing or not a string; nothing is recorded then. Commits before
   * returning; repeating a payload is safe for every event but
   * `beforeSubmitPrompt`, which records its prompt again.
   *
   * @generated from rpc envoy.v1.HookService.HandleCursorHook
   */
  handleCursorHook: {
    methodKind: "unary";
    input: typeof HandleCursorHookRequestSchema;
    output: typeof HandleCursorHookResponseSchema;
  },
  /**
   * Finds the agent of the coding session running in a harness process, so
   * that a tool server the same harness started (the MCP server,
   * `envoy-grpc mcp`) acts as that session's agent without being told who it
   * is. The link is made by the command form of the hooks, which reports the
   * harness process with every hook call (header `X-Envoy-Harness-Pid`); the
   * latest top-level session seen from that process wins, and SessionEnd
   * removes it. Returns a new token for the agent.
   *
   * Authenticates with the hook token or the operator token
   * (PERMISSION_DENIED otherwise). Returns NOT_FOUND (HOOK_SESSION_NOT_FOUND)
   * when no hook call from that process has been seen since the server
   * started.
   *
   * @generated from rpc envoy.v1.HookService.ResolveHookAgent
   */
  resolveHookAgent: {
    methodKind: "unary";
    input: typeof ResolveHookAgentRequestSchema;
    output: typeof ResolveHookAgentResponseSchema;
  },
}> = /*@__PURE__*/
  serviceDesc(file_envoy_v1_hooks, 0);

