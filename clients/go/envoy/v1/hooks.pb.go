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

// Code generated by protoc-gen-go. DO NOT EDIT.
// versions:
// 	protoc-gen-go v1.36.12
// 	protoc        v7.35.1
// source: envoy/v1/hooks.proto

package envoyv1

import (
	_ "google.golang.org/genproto/googleapis/api/annotations"
	protoreflect "google.golang.org/protobuf/reflect/protoreflect"
	protoimpl "google.golang.org/protobuf/runtime/protoimpl"
	structpb "google.golang.org/protobuf/types/known/structpb"
	reflect "reflect"
	sync "sync"
	unsafe "unsafe"
)

const (
	// Verify that this generated code is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(20 - protoimpl.MinVersion)
	// Verify that runtime/protoimpl is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(protoimpl.MaxVersion - 20)
)

// The request of HookService.ResolveHookAgent.
type ResolveHookAgentRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The process ID of the coding harness (the Claude Code process) whose
	// session agent is wanted: the nearest ancestor of the caller that is not
	// a shell, as `envoy-grpc hook` reports it with every hook call.
	HarnessPid    int64 `protobuf:"varint,1,opt,name=harness_pid,json=harnessPid,proto3" json:"harness_pid,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ResolveHookAgentRequest) Reset() {
	*x = ResolveHookAgentRequest{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[0]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ResolveHookAgentRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ResolveHookAgentRequest) ProtoMessage() {}

func (x *ResolveHookAgentRequest) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[0]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ResolveHookAgentRequest.ProtoReflect.Descriptor instead.
func (*ResolveHookAgentRequest) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{0}
}

func (x *ResolveHookAgentRequest) GetHarnessPid() int64 {
	if x != nil {
		return x.HarnessPid
	}
	return 0
}

// The response of HookService.ResolveHookAgent.
type ResolveHookAgentResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The session's agent.
	AgentId string `protobuf:"bytes,1,opt,name=agent_id,json=agentId,proto3" json:"agent_id,omitempty"`
	// The hook session's ID.
	SessionId string `protobuf:"bytes,2,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// The session's project.
	Project string `protobuf:"bytes,3,opt,name=project,proto3" json:"project,omitempty"`
	// A new bearer token for `agent_id`; the agent's previous token stops
	// working.
	Token         string `protobuf:"bytes,4,opt,name=token,proto3" json:"token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ResolveHookAgentResponse) Reset() {
	*x = ResolveHookAgentResponse{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[1]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ResolveHookAgentResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ResolveHookAgentResponse) ProtoMessage() {}

func (x *ResolveHookAgentResponse) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[1]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ResolveHookAgentResponse.ProtoReflect.Descriptor instead.
func (*ResolveHookAgentResponse) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{1}
}

func (x *ResolveHookAgentResponse) GetAgentId() string {
	if x != nil {
		return x.AgentId
	}
	return ""
}

func (x *ResolveHookAgentResponse) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *ResolveHookAgentResponse) GetProject() string {
	if x != nil {
		return x.Project
	}
	return ""
}

func (x *ResolveHookAgentResponse) GetToken() string {
	if x != nil {
		return x.Token
	}
	return ""
}

// The request of HookService.HandleClaudeHook.
type HandleClaudeHookRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The hook payload exactly as Claude Code sends it on stdin or in the
	// http hook's body, such as `{"session_id": "…", "hook_event_name":
	// "PostToolUse", "tool_name": "Bash", "tool_input": {…}, "tool_response":
	// {…}, "tool_use_id": "…", "cwd": "…"}`. At most 1 MiB of JSON.
	Payload       *structpb.Struct `protobuf:"bytes,1,opt,name=payload,proto3" json:"payload,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleClaudeHookRequest) Reset() {
	*x = HandleClaudeHookRequest{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[2]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleClaudeHookRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleClaudeHookRequest) ProtoMessage() {}

func (x *HandleClaudeHookRequest) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[2]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleClaudeHookRequest.ProtoReflect.Descriptor instead.
func (*HandleClaudeHookRequest) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{2}
}

func (x *HandleClaudeHookRequest) GetPayload() *structpb.Struct {
	if x != nil {
		return x.Payload
	}
	return nil
}

// The response of HookService.HandleClaudeHook.
type HandleClaudeHookResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The hook output for Claude Code, in Claude Code's own keys: empty (`{}`)
	// when there is nothing to say; `{"hookSpecificOutput": {"hookEventName",
	// "additionalContext"}}` to add context to the session; `{"decision":
	// "block", "reason"}` to keep a Stop from ending the turn.
	Output        *structpb.Struct `protobuf:"bytes,1,opt,name=output,proto3" json:"output,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleClaudeHookResponse) Reset() {
	*x = HandleClaudeHookResponse{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[3]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleClaudeHookResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleClaudeHookResponse) ProtoMessage() {}

func (x *HandleClaudeHookResponse) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[3]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleClaudeHookResponse.ProtoReflect.Descriptor instead.
func (*HandleClaudeHookResponse) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{3}
}

func (x *HandleClaudeHookResponse) GetOutput() *structpb.Struct {
	if x != nil {
		return x.Output
	}
	return nil
}

// The request of HookService.HandleCodexHook.
type HandleCodexHookRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The payload exactly as Codex sends it: a hook event on stdin
	// (`{"session_id": "…", "turn_id": "…", "hook_event_name": "PostToolUse",
	// "tool_name": "apply_patch", "tool_input": {…}, "tool_response": …,
	// "cwd": "…"}`) or the notify program's last argument (`{"type":
	// "agent-turn-complete", "thread-id": "…", …}`). At most 1 MiB of JSON.
	Payload       *structpb.Struct `protobuf:"bytes,1,opt,name=payload,proto3" json:"payload,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleCodexHookRequest) Reset() {
	*x = HandleCodexHookRequest{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[4]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleCodexHookRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleCodexHookRequest) ProtoMessage() {}

func (x *HandleCodexHookRequest) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[4]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleCodexHookRequest.ProtoReflect.Descriptor instead.
func (*HandleCodexHookRequest) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{4}
}

func (x *HandleCodexHookRequest) GetPayload() *structpb.Struct {
	if x != nil {
		return x.Payload
	}
	return nil
}

// The response of HookService.HandleCodexHook.
type HandleCodexHookResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The hook output for Codex, in the keys Codex shares with Claude Code:
	// empty (`{}`) when there is nothing to say; `{"hookSpecificOutput":
	// {"hookEventName", "additionalContext"}}` to add context; `{"decision":
	// "block", "reason"}` to keep a Stop from ending the turn.
	Output        *structpb.Struct `protobuf:"bytes,1,opt,name=output,proto3" json:"output,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleCodexHookResponse) Reset() {
	*x = HandleCodexHookResponse{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[5]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleCodexHookResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleCodexHookResponse) ProtoMessage() {}

func (x *HandleCodexHookResponse) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[5]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleCodexHookResponse.ProtoReflect.Descriptor instead.
func (*HandleCodexHookResponse) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{5}
}

func (x *HandleCodexHookResponse) GetOutput() *structpb.Struct {
	if x != nil {
		return x.Output
	}
	return nil
}

// The request of HookService.HandleCursorHook.
type HandleCursorHookRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The hook payload exactly as Cursor sends it on stdin, such as
	// `{"conversation_id": "…", "generation_id": "…", "workspace_roots":
	// ["/home/dev/app"], "hook_event_name": "afterFileEdit", "file_path": "…",
	// "edits": [...]}`. At most 1 MiB of JSON.
	Payload       *structpb.Struct `protobuf:"bytes,1,opt,name=payload,proto3" json:"payload,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleCursorHookRequest) Reset() {
	*x = HandleCursorHookRequest{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[6]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleCursorHookRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleCursorHookRequest) ProtoMessage() {}

func (x *HandleCursorHookRequest) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[6]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleCursorHookRequest.ProtoReflect.Descriptor instead.
func (*HandleCursorHookRequest) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{6}
}

func (x *HandleCursorHookRequest) GetPayload() *structpb.Struct {
	if x != nil {
		return x.Payload
	}
	return nil
}

// The response of HookService.HandleCursorHook.
type HandleCursorHookResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The hook output in Cursor's keys: `{"permission": "allow"}` for the
	// before-events and preToolUse; `{"continue": true}` for
	// beforeSubmitPrompt; `{"followup_message"}` when a stop must not end the
	// turn; `{"additional_context"}` at sessionStart and postToolUse when there
	// are unread messages; `{}` otherwise.
	Output        *structpb.Struct `protobuf:"bytes,1,opt,name=output,proto3" json:"output,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *HandleCursorHookResponse) Reset() {
	*x = HandleCursorHookResponse{}
	mi := &file_envoy_v1_hooks_proto_msgTypes[7]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *HandleCursorHookResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*HandleCursorHookResponse) ProtoMessage() {}

func (x *HandleCursorHookResponse) ProtoReflect() protoreflect.Message {
	mi := &file_envoy_v1_hooks_proto_msgTypes[7]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use HandleCursorHookResponse.ProtoReflect.Descriptor instead.
func (*HandleCursorHookResponse) Descriptor() ([]byte, []int) {
	return file_envoy_v1_hooks_proto_rawDescGZIP(), []int{7}
}

func (x *HandleCursorHookResponse) GetOutput() *structpb.Struct {
	if x != nil {
		return x.Output
	}
	return nil
}

var File_envoy_v1_hooks_proto protoreflect.FileDescriptor

const file_envoy_v1_hooks_proto_rawDesc = "" +
	"\n" +
	"\x14envoy/v1/hooks.proto\x12\benvoy.v1\x1a\x1cgoogle/api/annotations.proto\x1a\x1fgoogle/api/field_behavior.proto\x1a\x1cgoogle/protobuf/struct.proto\"@\n" +
	"\x17ResolveHookAgentRequest\x12%\n" +
	"\vharness_pid\x18\x01 \x01(\x03B\x04\xe2A\x01\x02R\n" +
	"harnessPid\"\x84\x01\n" +
	"\x18ResolveHookAgentResponse\x12\x19\n" +
	"\bagent_id\x18\x01 \x01(\tR\aagentId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x02 \x01(\tR\tsessionId\x12\x18\n" +
	"\aproject\x18\x03 \x01(\tR\aproject\x12\x14\n" +
	"\x05token\x18\x04 \x01(\tR\x05token\"R\n" +
	"\x17HandleClaudeHookRequest\x127\n" +
	"\apayload\x18\x01 \x01(\v2\x17.google.protobuf.StructB\x04\xe2A\x01\x02R\apayload\"K\n" +
	"\x18HandleClaudeHookResponse\x12/\n" +
	"\x06output\x18\x01 \x01(\v2\x17.google.protobuf.StructR\x06output\"Q\n" +
	"\x16HandleCodexHookRequest\x127\n" +
	"\apayload\x18\x01 \x01(\v2\x17.google.protobuf.StructB\x04\xe2A\x01\x02R\apayload\"J\n" +
	"\x17HandleCodexHookResponse\x12/\n" +
	"\x06output\x18\x01 \x01(\v2\x17.google.protobuf.StructR\x06output\"R\n" +
	"\x17HandleCursorHookRequest\x127\n" +
	"\apayload\x18\x01 \x01(\v2\x17.google.protobuf.StructB\x04\xe2A\x01\x02R\apayload\"K\n" +
	"\x18HandleCursorHookResponse\x12/\n" +
	"\x06output\x18\x01 \x01(\v2\x17.google.protobuf.StructR\x06output2\x94\x04\n" +
	"\vHookService\x12\x81\x01\n" +
	"\x10HandleClaudeHook\x12!.envoy.v1.HandleClaudeHookRequest\x1a\".envoy.v1.HandleClaudeHookResponse\"&\x82\xd3\xe4\x93\x02 :\apayloadb\x06output\"\r/hooks/claude\x12}\n" +
	"\x0fHandleCodexHook\x12 .envoy.v1.HandleCodexHookRequest\x1a!.envoy.v1.HandleCodexHookResponse\"%\x82\xd3\xe4\x93\x02\x1f:\apayloadb\x06output\"\f/hooks/codex\x12\x81\x01\n" +
	"\x10HandleCursorHook\x12!.envoy.v1.HandleCursorHookRequest\x1a\".envoy.v1.HandleCursorHookResponse\"&\x82\xd3\xe4\x93\x02 :\apayloadb\x06output\"\r/hooks/cursor\x12~\n" +
	"\x10ResolveHookAgent\x12!.envoy.v1.ResolveHookAgentRequest\x1a\".envoy.v1.ResolveHookAgentResponse\"#\x82\xd3\xe4\x93\x02\x1d\x12\x1b/hooks/agents/{harness_pid}BR\n" +
	"\x10dev.envoygrpc.v1P\x01Z<github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1;envoyv1b\x06proto3"

var (
	file_envoy_v1_hooks_proto_rawDescOnce sync.Once
	file_envoy_v1_hooks_proto_rawDescData []byte
)

func file_envoy_v1_hooks_proto_rawDescGZIP() []byte {
	file_envoy_v1_hooks_proto_rawDescOnce.Do(func() {
		file_envoy_v1_hooks_proto_rawDescData = protoimpl.X.CompressGZIP(unsafe.Slice(unsafe.StringData(file_envoy_v1_hooks_proto_rawDesc), len(file_envoy_v1_hooks_proto_rawDesc)))
	})
	return file_envoy_v1_hooks_proto_rawDescData
}

var file_envoy_v1_hooks_proto_msgTypes = make([]protoimpl.MessageInfo, 8)
var file_envoy_v1_hooks_proto_goTypes = []any{
	(*ResolveHookAgentRequest)(nil),  // 0: envoy.v1.ResolveHookAgentRequest
	(*ResolveHookAgentResponse)(nil), // 1: envoy.v1.ResolveHookAgentResponse
	(*HandleClaudeHookRequest)(nil),  // 2: envoy.v1.HandleClaudeHookRequest
	(*HandleClaudeHookResponse)(nil), // 3: envoy.v1.HandleClaudeHookResponse
	(*HandleCodexHookRequest)(nil),   // 4: envoy.v1.HandleCodexHookRequest
	(*HandleCodexHookResponse)(nil),  // 5: envoy.v1.HandleCodexHookResponse
	(*HandleCursorHookRequest)(nil),  // 6: envoy.v1.HandleCursorHookRequest
	(*HandleCursorHookResponse)(nil), // 7: envoy.v1.HandleCursorHookResponse
	(*structpb.Struct)(nil),          // 8: google.protobuf.Struct
}
var file_envoy_v1_hooks_proto_depIdxs = []int32{
	8,  // 0: envoy.v1.HandleClaudeHookRequest.payload:type_name -> google.protobuf.Struct
	8,  // 1: envoy.v1.HandleClaudeHookResponse.output:type_name -> google.protobuf.Struct
	8,  // 2: envoy.v1.HandleCodexHookRequest.payload:type_name -> google.protobuf.Struct
	8,  // 3: envoy.v1.HandleCodexHookResponse.output:type_name -> google.protobuf.Struct
	8,  // 4: envoy.v1.HandleCursorHookRequest.payload:type_name -> google.protobuf.Struct
	8,  // 5: envoy.v1.HandleCursorHookResponse.output:type_name -> google.protobuf.Struct
	2,  // 6: envoy.v1.HookService.HandleClaudeHook:input_type -> envoy.v1.HandleClaudeHookRequest
	4,  // 7: envoy.v1.HookService.HandleCodexHook:input_type -> envoy.v1.HandleCodexHookRequest
	6,  // 8: envoy.v1.HookService.HandleCursorHook:input_type -> envoy.v1.HandleCursorHookRequest
	0,  // 9: envoy.v1.HookService.ResolveHookAgent:input_type -> envoy.v1.ResolveHookAgentRequest
	3,  // 10: envoy.v1.HookService.HandleClaudeHook:output_type -> envoy.v1.HandleClaudeHookResponse
	5,  // 11: envoy.v1.HookService.HandleCodexHook:output_type -> envoy.v1.HandleCodexHookResponse
	7,  // 12: envoy.v1.HookService.HandleCursorHook:output_type -> envoy.v1.HandleCursorHookResponse
	1,  // 13: envoy.v1.HookService.ResolveHookAgent:output_type -> envoy.v1.ResolveHookAgentResponse
	10, // [10:14] is the sub-list for method output_type
	6,  // [6:10] is the sub-list for method input_type
	6,  // [6:6] is the sub-list for extension type_name
	6,  // [6:6] is the sub-list for extension extendee
	0,  // [0:6] is the sub-list for field type_name
}

func init() { file_envoy_v1_hooks_proto_init() }
func file_envoy_v1_hooks_proto_init() {
	if File_envoy_v1_hooks_proto != nil {
		return
	}
	type x struct{}
	out := protoimpl.TypeBuilder{
		File: protoimpl.DescBuilder{
			GoPackagePath: reflect.TypeOf(x{}).PkgPath(),
			RawDescriptor: unsafe.Slice(unsafe.StringData(file_envoy_v1_hooks_proto_rawDesc), len(file_envoy_v1_hooks_proto_rawDesc)),
			NumEnums:      0,
			NumMessages:   8,
			NumExtensions: 0,
			NumServices:   1,
		},
		GoTypes:           file_envoy_v1_hooks_proto_goTypes,
		DependencyIndexes: file_envoy_v1_hooks_proto_depIdxs,
		MessageInfos:      file_envoy_v1_hooks_proto_msgTypes,
	}.Build()
	File_envoy_v1_hooks_proto = out.File
	file_envoy_v1_hooks_proto_goTypes = nil
	file_envoy_v1_hooks_proto_depIdxs = nil
}
