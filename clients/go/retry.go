package envoy

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

// Retry is the backoff policy for unary calls (bounded by MaxAttempts) and for Subscribe
// reconnects (unbounded: a subscription waits for the server as long as its context lives).
type Retry struct {
	MaxAttempts    int           // calls in total, the first included; 1 disables retries
	InitialBackoff time.Duration // the cap of the first pause
	MaxBackoff     time.Duration // no pause is longer
	Multiplier     float64       // the cap grows by this factor after each failure
}

// DefaultRetry rides out a server restart of a few seconds: pauses capped at 0.1, 0.2, 0.4, ... 5 s.
var DefaultRetry = Retry{MaxAttempts: 8, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, Multiplier: 2}

// Delay is the pause after the given number of consecutive failures (0 = after the first): a uniform
// draw below the exponential cap ("full jitter"), so clients cut off together do not return together.
func (r Retry) Delay(failures int) time.Duration {
	ceiling := float64(r.InitialBackoff)
	for i := 0; i < failures && ceiling < float64(r.MaxBackoff); i++ {
		ceiling *= r.Multiplier
	}
	ceiling = min(ceiling, float64(r.MaxBackoff))
	return time.Duration(rand.Float64() * ceiling)
}

// Retryable reports whether err is a transient transport failure worth another attempt.
func Retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled:
		return true
	}
	return false
}

func (r Retry) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
) error {
	req = withIdempotencyKeys(req)
	for failures := 0; ; failures++ {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil || !Retryable(err) || failures+1 >= r.MaxAttempts || ctx.Err() != nil {
			return err
		}
		if sleep(ctx, r.Delay(failures)) != nil {
			return err
		}
	}
}

// withIdempotencyKeys gives every send without a key a random one, so a send retried after the server
// stored it (but before the answer arrived) returns the stored message instead of sending it twice.
func withIdempotencyKeys(req any) any {
	switch r := req.(type) {
	case *envoyv1.SendMessageRequest:
		if r.GetIdempotencyKey() == "" {
			r = proto.Clone(r).(*envoyv1.SendMessageRequest)
			r.IdempotencyKey = newKey()
			return r
		}
	case *envoyv1.BatchSendMessagesRequest:
		r = proto.Clone(r).(*envoyv1.BatchSendMessagesRequest)
		for _, m := range r.Messages {
			if m.GetIdempotencyKey() == "" {
				m.IdempotencyKey = newKey()
			}
		}
		return r
	}
	return req
}

func newKey() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:])
	return "go-" + hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
