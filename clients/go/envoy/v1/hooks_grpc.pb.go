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

// Code generated by protoc-gen-go-grpc. DO NOT EDIT.
// versions:
// - protoc-gen-go-grpc v1.6.2
// - protoc             v7.35.1
// source: envoy/v1/hooks.proto

package envoyv1

import (
	context "context"
	grpc "google.golang.org/grpc"
	codes "google.golang.org/grpc/codes"
	status "google.golang.org/grpc/status"
)

// This is a compile-time assertion to ensure that this generated file
// is compatible with the grpc package it is being compiled against.
// Requires gRPC-Go v1.64.0 or later.
const _ = grpc.SupportPackageIsVersion9

const (
	HookService_HandleClaudeHook_FullMethodName = "/envoy.v1.HookService/HandleClaudeHook"
)

// HookServiceClient is the client API for HookService service.
//
// For semantics around ctx use and closing/ending streaming RPCs, please refer to https://pkg.go.dev/google.golang.org/grpc/?tab=doc#ClientConn.NewStream.
//
// Turns coding-agent hook events into session records and answers with hook
// output that pushes messages into the session.
type HookServiceClient interface {
	// Handles one Claude Code hook event: records what the event says (see the
	// list at the top of this file) and returns the hook output for Claude
	// Code. Over HTTP the request body is Claude Code's payload and the
	// response body is the hook output, both as Claude Code writes them
	// (camelCase keys such as `hookSpecificOutput` pass through untouched);
	// the output is `{}` when there is nothing to say.
	//
	// Authenticates with the hook token (`hook.token` in the data directory)
	// or the operator token; an agent token gets PERMISSION_DENIED and no
	// token UNAUTHENTICATED. Returns INVALID_ARGUMENT naming
	// `payload.session_id` or `payload.hook_event_name` when one is missing or
	// not a string; nothing is recorded then.
	//
	// The records are committed before the call returns; knowledge-graph
	// indexing may follow shortly after. Repeating a payload is safe for
	// SessionStart, SubagentStart, PreToolUse, PostToolUse,
	// PostToolUseFailure, Stop and SessionEnd (keyed by `session_id`,
	// `agent_id` and `tool_use_id`); a repeated UserPromptSubmit, SubagentStop,
	// PreCompact or Notification is recorded again.
	HandleClaudeHook(ctx context.Context, in *HandleClaudeHookRequest, opts ...grpc.CallOption) (*HandleClaudeHookResponse, error)
}

type hookServiceClient struct {
	cc grpc.ClientConnInterface
}

func NewHookServiceClient(cc grpc.ClientConnInterface) HookServiceClient {
	return &hookServiceClient{cc}
}

func (c *hookServiceClient) HandleClaudeHook(ctx context.Context, in *HandleClaudeHookRequest, opts ...grpc.CallOption) (*HandleClaudeHookResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(HandleClaudeHookResponse)
	err := c.cc.Invoke(ctx, HookService_HandleClaudeHook_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HookServiceServer is the server API for HookService service.
// All implementations must embed UnimplementedHookServiceServer
// for forward compatibility.
//
// Turns coding-agent hook events into session records and answers with hook
// output that pushes messages into the session.
type HookServiceServer interface {
	// Handles one Claude Code hook event: records what the event says (see the
	// list at the top of this file) and returns the hook output for Claude
	// Code. Over HTTP the request body is Claude Code's payload and the
	// response body is the hook output, both as Claude Code writes them
	// (camelCase keys such as `hookSpecificOutput` pass through untouched);
	// the output is `{}` when there is nothing to say.
	//
	// Authenticates with the hook token (`hook.token` in the data directory)
	// or the operator token; an agent token gets PERMISSION_DENIED and no
	// token UNAUTHENTICATED. Returns INVALID_ARGUMENT naming
	// `payload.session_id` or `payload.hook_event_name` when one is missing or
	// not a string; nothing is recorded then.
	//
	// The records are committed before the call returns; knowledge-graph
	// indexing may follow shortly after. Repeating a payload is safe for
	// SessionStart, SubagentStart, PreToolUse, PostToolUse,
	// PostToolUseFailure, Stop and SessionEnd (keyed by `session_id`,
	// `agent_id` and `tool_use_id`); a repeated UserPromptSubmit, SubagentStop,
	// PreCompact or Notification is recorded again.
	HandleClaudeHook(context.Context, *HandleClaudeHookRequest) (*HandleClaudeHookResponse, error)
	mustEmbedUnimplementedHookServiceServer()
}

// UnimplementedHookServiceServer must be embedded to have
// forward compatible implementations.
//
// NOTE: this should be embedded by value instead of pointer to avoid a nil
// pointer dereference when methods are called.
type UnimplementedHookServiceServer struct{}

func (UnimplementedHookServiceServer) HandleClaudeHook(context.Context, *HandleClaudeHookRequest) (*HandleClaudeHookResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method HandleClaudeHook not implemented")
}
func (UnimplementedHookServiceServer) mustEmbedUnimplementedHookServiceServer() {}
func (UnimplementedHookServiceServer) testEmbeddedByValue()                     {}

// UnsafeHookServiceServer may be embedded to opt out of forward compatibility for this service.
// Use of this interface is not recommended, as added methods to HookServiceServer will
// result in compilation errors.
type UnsafeHookServiceServer interface {
	mustEmbedUnimplementedHookServiceServer()
}

func RegisterHookServiceServer(s grpc.ServiceRegistrar, srv HookServiceServer) {
	// If the following call panics, it indicates UnimplementedHookServiceServer was
	// embedded by pointer and is nil.  This will cause panics if an
	// unimplemented method is ever invoked, so we test this at initialization
	// time to prevent it from happening at runtime later due to I/O.
	if t, ok := srv.(interface{ testEmbeddedByValue() }); ok {
		t.testEmbeddedByValue()
	}
	s.RegisterService(&HookService_ServiceDesc, srv)
}

func _HookService_HandleClaudeHook_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(HandleClaudeHookRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(HookServiceServer).HandleClaudeHook(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: HookService_HandleClaudeHook_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(HookServiceServer).HandleClaudeHook(ctx, req.(*HandleClaudeHookRequest))
	}
	return interceptor(ctx, in, info, handler)
}

// HookService_ServiceDesc is the grpc.ServiceDesc for HookService service.
// It's only intended for direct use with grpc.RegisterService,
// and not to be introspected or modified (even as a copy)
var HookService_ServiceDesc = grpc.ServiceDesc{
	ServiceName: "envoy.v1.HookService",
	HandlerType: (*HookServiceServer)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "HandleClaudeHook",
			Handler:    _HookService_HandleClaudeHook_Handler,
		},
	},
	Streams:  []grpc.StreamDesc{},
	Metadata: "envoy/v1/hooks.proto",
}
