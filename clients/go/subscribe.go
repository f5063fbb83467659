package envoy

import (
	"container/list"
	"context"
	"errors"
	"io"

	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

// SubscribeOptions tunes Subscribe; the zero value starts after sequence 0 and remembers 10,000 IDs.
type SubscribeOptions struct {
	AfterSequence int64  // resume after this sequence (the last one the caller processed)
	DedupWindow   int    // how many recent message IDs are remembered to drop redeliveries
	OnConnect     func() // called each time a stream is accepted (first connect and every resume)
}

// Subscribe yields the agent's messages as they are pushed, for as long as ctx lives. When the stream
// breaks (server restart, network), it reconnects with backoff and after_sequence = the last sequence
// seen, so nothing is skipped; a message ID already yielded is never yielded again. A permanent error
// (bad token, unknown agent) or the end of ctx is yielded once as (nil, err), and the iteration ends.
//
//	for msg, err := range client.Subscribe(ctx, agentID, envoy.SubscribeOptions{}) {
//		if err != nil { return err }
//		handle(msg); client.Ack(ctx, agentID, msg.MessageId)
//	}
func (c *Client) Subscribe(ctx context.Context, agentID string, opts SubscribeOptions) func(yield func(*envoyv1.Message, error) bool) {
	return func(yield func(*envoyv1.Message, error) bool) {
		last := opts.AfterSequence
		seen := newRecentIDs(opts.DedupWindow)
		for failures := 0; ; failures++ {
			err := c.streamOnce(ctx, agentID, &last, seen, opts.OnConnect, &failures, yield)
			if errors.Is(err, errStopped) {
				return
			}
			if ctx.Err() != nil {
				yield(nil, ctx.Err())
				return
			}
			if err != nil && !errors.Is(err, io.EOF) && !Retryable(err) {
				yield(nil, err)
				return
			}
			if sleep(ctx, c.retry.Delay(failures)) != nil {
				yield(nil, ctx.Err())
				return
			}
		}
	}
}

var errStopped = errors.New("the caller stopped iterating")

// streamOnce runs one Subscribe call until it ends; it resets *failures once the server accepts it.
func (c *Client) streamOnce(ctx context.Context, agentID string, last *int64, seen *recentIDs, onConnect func(),
	failures *int, yield func(*envoyv1.Message, error) bool,
) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Messages.Subscribe(ctx, &envoyv1.SubscribeRequest{AgentId: agentID, AfterSequence: *last})
	if err != nil {
		return err
	}
	// Headers mean the server accepted the stream; a refusal comes as trailers only (nil headers).
	if header, err := stream.Header(); err == nil && header != nil {
		*failures = -1 // the loop's increment makes the next pause the shortest again
		if onConnect != nil {
			onConnect()
		}
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		*last = max(*last, msg.GetSequenceId())
		if !seen.add(msg.GetMessageId()) {
			continue
		}
		if !yield(msg, nil) {
			return errStopped
		}
	}
}

// recentIDs is a bounded set of message IDs: the oldest is forgotten when a new one needs room.
type recentIDs struct {
	limit int
	order *list.List
	index map[string]*list.Element
}

func newRecentIDs(limit int) *recentIDs {
	if limit <= 0 {
		limit = 10_000
	}
	return &recentIDs{limit: limit, order: list.New(), index: make(map[string]*list.Element)}
}

// add records id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	if _, ok := r.index[id]; ok {
		return false
	}
	r.index[id] = r.order.PushBack(id)
	if r.order.Len() > r.limit {
		oldest := r.order.Front()
		r.order.Remove(oldest)
		delete(r.index, oldest.Value.(string))
	}
	return true
}
