package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	envoy "github.com/envoy-grpc/envoy-grpc/clients/go"
	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

// listen prints and acks each distinct message until --count of them arrived, across reconnects.
func (r *runner) listen(ctx context.Context) error {
	next, stop := r.messages(ctx, r.opts.agentID, nil)
	defer stop()
	for received := 0; received < r.opts.count; received++ {
		msg, err := next()
		if err != nil {
			return err
		}
		emit(map[string]any{"event": "message", "message_id": msg.GetMessageId(), "sequence": msg.GetSequenceId(), "text": text(msg)})
		if err := r.ackSurely(ctx, msg.GetMessageId()); err != nil {
			return err
		}
	}
	return nil
}

// ackSurely acks, retrying while the server is away (a restart can outlast the client's own retries):
// the subscription drops the redelivered copy, so a lost ack would never be sent again. ctx (--timeout)
// bounds the wait.
func (r *runner) ackSurely(ctx context.Context, messageID string) error {
	for {
		err := r.client.Ack(ctx, r.opts.agentID, messageID)
		if err == nil || !envoy.Retryable(err) {
			return err
		}
		fmt.Fprintf(os.Stderr, "ack %s failed: %v; retrying\n", messageID, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// badRequest sends a message without parts; the server's INVALID_ARGUMENT is the expected result.
func (r *runner) badRequest(ctx context.Context) error {
	_, err := r.client.Messages.SendMessage(ctx, &envoyv1.SendMessageRequest{
		Type: envoyv1.MessageType_MESSAGE_TYPE_DIRECT, From: r.opts.agentID, To: r.opts.agentID,
	})
	if err == nil {
		return fmt.Errorf("the server accepted a message without parts")
	}
	return err
}

// bench receives --count messages whose text is "t=<send time in ns>", acks them from a pool of
// goroutines (so acks never slow the stream down) and prints throughput and latency.
func (r *runner) bench(ctx context.Context) error {
	next, stop := r.messages(ctx, r.opts.agentID, nil)
	defer stop()
	latencies := make([]float64, 0, r.opts.count)
	var first, last time.Time
	acks := make(chan string, 1024)
	var workers sync.WaitGroup
	for range 16 {
		workers.Go(func() {
			for id := range acks {
				if err := r.client.Ack(ctx, r.opts.agentID, id); err != nil {
					fmt.Fprintf(os.Stderr, "ack %s failed: %v\n", id, err)
				}
			}
		})
	}
	for len(latencies) < r.opts.count {
		msg, err := next()
		if err != nil {
			close(acks)
			return err
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		last = now
		if sent, err := strconv.ParseInt(strings.TrimPrefix(text(msg), "t="), 10, 64); err == nil {
			latencies = append(latencies, float64(now.UnixNano()-sent)/1e6)
		}
		acks <- msg.GetMessageId()
	}
	close(acks)
	workers.Wait()
	seconds := last.Sub(first).Seconds()
	slices.Sort(latencies)
	emit(map[string]any{
		"event": "bench", "lang": lang, "received": len(latencies), "seconds": seconds,
		"msgs_per_s": rate(len(latencies), seconds), "p50_latency_ms": percentile(latencies, 0.50),
		"p99_latency_ms": percentile(latencies, 0.99),
	})
	return nil
}

// rate is messages per second between the first and the last receipt (N-1 intervals).
func rate(n int, seconds float64) float64 {
	if n < 2 || seconds <= 0 {
		return 0
	}
	return float64(n-1) / seconds
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
