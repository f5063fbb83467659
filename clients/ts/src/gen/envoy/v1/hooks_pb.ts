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
//   PostToolUse or PostToolUseFailure can fill `latency_ms`. Returns `{}`,
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
// output it ever produces is the Stop decision above: it never denies a tool
// call or a prompt. When the server cannot handle a hook, the call fails and
// Claude Code treats the failed http hook as a non-blocking error and carries
// on; `envoy-grpc hook` prints nothing and exits 0 on any error, on timeout
// and when the server is unreachable.

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
  fileDesc("ChRlbnZveS92MS9ob29rcy5wcm90bxIIZW52b3kudjEiSQoXSGFuZGxlQ2xhdWRlSG9va1JlcXVlc3QSLgoHcGF5bG9hZBgBIAEoCzIXLmdvb2dsZS5wcm90b2J1Zi5TdHJ1Y3RCBOJBAQIiQwoYSGFuZGxlQ2xhdWRlSG9va1Jlc3BvbnNlEicKBm91dHB1dBgBIAEoCzIXLmdvb2dsZS5wcm90b2J1Zi5TdHJ1Y3QykQEKC0hvb2tTZXJ2aWNlEoEBChBIYW5kbGVDbGF1ZGVIb29rEiEuZW52b3kudjEuSGFuZGxlQ2xhdWRlSG9va1JlcXVlc3QaIi5lbnZveS52MS5IYW5kbGVDbGF1ZGVIb29rUmVzcG9uc2UiJoLT5JMCIDoHcGF5bG9hZGIGb3V0cHV0Ig0vaG9va3MvY2xhdWRlQlIKEGRldi5lbnZveWdycGMudjFQAVo8Z2l0aHViLmNvbS9lbnZveS1ncnBjL2Vudm95LWdycGMvY2xpZW50cy9nby9lbnZveS92MTtlbnZveXYxYgZwcm90bzM", [file_google_api_annotations, file_google_api_field_behavior, file_google_protobuf_struct]);

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
  messageDesc(file_envoy_v1_hooks, 0);

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
  messageDesc(file_envoy_v1_hooks, 1);

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
}> = /*@__PURE__*/
  serviceDesc(file_envoy_v1_hooks, 0);

