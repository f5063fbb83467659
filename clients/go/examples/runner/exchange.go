package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"

	envoy "github.com/envoy-grpc/envoy-grpc/clients/go"
	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

type runner struct {
	client *envoy.Client
	opts   options
}

// exchange registers an agent and a subagent, pings or answers a peer, then records a session, a tool
// call and a discovery and searches for it.
func (r *runner) exchange(ctx context.Context) error {
	agents := r.client.Agents
	me, err := agents.RegisterAgent(ctx, &envoyv1.RegisterAgentRequest{Name: r.opts.name, Kind: "runner"})
	if err != nil {
		return err
	}
	r.client.SetToken(me.GetToken())
	sub, err := agents.RegisterAgent(ctx, &envoyv1.RegisterAgentRequest{
		Name: r.opts.name + "-helper", Kind: "runner", ParentId: &me.AgentId,
	})
	if err != nil {
		return err
	}
	next, stop := r.messages(ctx, me.GetAgentId(), map[string]any{"subagent_id": sub.GetAgentId()})
	defer stop()
	if r.opts.peer != "" {
		if _, err := r.send(ctx, me.GetAgentId(), r.opts.peer, "ping from "+lang); err != nil {
			return err
		}
	}
	msg, err := next()
	if err != nil {
		return err
	}
	if err := r.client.Ack(ctx, me.GetAgentId(), msg.GetMessageId()); err != nil {
		return err
	}
	emit(map[string]any{"event": "received", "from": msg.GetFrom(), "text": text(msg), "message_id": msg.GetMessageId()})
	if r.opts.peer == "" {
		reply := fmt.Sprintf("pong from %s: %s", lang, text(msg))
		if _, err := r.send(ctx, me.GetAgentId(), msg.GetFrom(), reply); err != nil {
			return err
		}
	}
	hits, err := r.recordWork(ctx, me.GetAgentId())
	if err != nil {
		return err
	}
	emit(map[string]any{"event": "done", "search_hits": hits})
	return nil
}

// recordWork starts a session, logs a tool call in it, records a discovery and searches for it.
func (r *runner) recordWork(ctx context.Context, agentID string) (int32, error) {
	sessionID := fmt.Sprintf("%s-%s-session", lang, agentID)
	_, err := r.client.Sessions.CreateSession(ctx, &envoyv1.CreateSessionRequest{
		SessionId: sessionID, Agent: r.opts.name, Project: r.opts.project, Tool: "runner",
	})
	if err != nil {
		return 0, err
	}
	_, err = r.client.Sessions.RecordToolCall(ctx, &envoyv1.RecordToolCallRequest{
		SessionId: sessionID, ToolName: "Bash", ExitStatus: "success", InputSummary: "go run ./examples/runner",
	})
	if err != nil {
		return 0, err
	}
	metadata, _ := structpb.NewStruct(map[string]any{"why": "the " + lang + " runner finished its handshake"})
	_, err = r.client.Knowledge.CreateDiscovery(ctx, &envoyv1.CreateDiscoveryRequest{
		Agent: r.opts.name, DiscoveryType: "Pattern", Target: lang + "-runner-handshake",
		Project: r.opts.project, SessionId: &sessionID, Metadata: metadata,
	})
	if err != nil {
		return 0, err
	}
	found, err := r.client.Knowledge.Search(ctx, &envoyv1.SearchRequest{Q: "handshake", K: 10, Project: r.opts.project})
	if err != nil {
		return 0, err
	}
	return found.GetCount(), nil
}

func (r *runner) send(ctx context.Context, from, to, body string) (*envoyv1.Message, error) {
	return r.client.Messages.SendMessage(ctx, &envoyv1.SendMessageRequest{
		Type: envoyv1.MessageType_MESSAGE_TYPE_DIRECT, From: from, To: to,
		Parts: []*envoyv1.Part{{Content: &envoyv1.Part_Text{Text: body}}},
	})
}

// messages subscribes as agentID, prints the ready line once the first stream is accepted, and returns
// a function that blocks for the next message, plus one that ends the subscription.
func (r *runner) messages(ctx context.Context, agentID string, extra map[string]any) (func() (*envoyv1.Message, error), func()) {
	ctx, cancel := context.WithCancel(ctx)
	type item struct {
		msg *envoyv1.Message
		err error
	}
	items := make(chan item)
	var once sync.Once
	ready := make(chan struct{})
	announce := func() {
		once.Do(func() {
			line := map[string]any{"event": "ready", "agent_id": agentID}
			for k, v := range extra {
				line[k] = v
			}
			emit(line)
			close(ready)
		})
	}
	go func() {
		defer close(items)
		for msg, err := range r.client.Subscribe(ctx, agentID, envoy.SubscribeOptions{OnConnect: announce}) {
			select {
			case items <- item{msg, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	// The caller sends its ping only once it can hear the answer; a refusal ends the wait too.
	var early *item
	select {
	case <-ready:
	case it, ok := <-items:
		if ok {
			early = &it
		}
	case <-ctx.Done():
	}
	next := func() (*envoyv1.Message, error) {
		if early != nil {
			it := *early
			early = nil
			return it.msg, it.err
		}
		it, ok := <-items
		if !ok {
			return nil, context.Cause(ctx)
		}
		return it.msg, it.err
	}
	return next, cancel
}

// text joins the text parts of a message.
func text(msg *envoyv1.Message) string {
	var parts []string
	for _, part := range msg.GetParts() {
		if t, ok := part.GetContent().(*envoyv1.Part_Text); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}
