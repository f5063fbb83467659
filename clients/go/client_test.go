package envoy

import (
	"testing"
	"time"

	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

func TestDelayStaysUnderTheGrowingCap(t *testing.T) {
	r := Retry{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2}
	caps := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for failures, ceiling := range caps {
		for range 200 {
			if d := r.Delay(failures); d < 0 || d > ceiling*time.Millisecond {
				t.Fatalf("Delay(%d) = %v, want within [0, %v ms]", failures, d, ceiling)
			}
		}
	}
}

func TestRecentIDsForgetsTheOldestBeyondItsLimit(t *testing.T) {
	ids := newRecentIDs(2)
	if !ids.add("1") || !ids.add("2") || ids.add("1") {
		t.Fatal("a new ID must be accepted once and refused after")
	}
	ids.add("3") // pushes out "1"
	if !ids.add("1") || ids.add("3") {
		t.Fatal("only the oldest ID is forgotten")
	}
}

func TestSendsGetAnIdempotencyKeyWithoutChangingTheCallersRequest(t *testing.T) {
	mine := &envoyv1.SendMessageRequest{To: "id2"}
	keyed := withIdempotencyKeys(mine).(*envoyv1.SendMessageRequest)
	if mine.IdempotencyKey != "" || keyed.IdempotencyKey == "" {
		t.Fatalf("key %q on the caller's request, %q on the sent one", mine.IdempotencyKey, keyed.IdempotencyKey)
	}
	given := &envoyv1.SendMessageRequest{To: "id2", IdempotencyKey: "k1"}
	if withIdempotencyKeys(given).(*envoyv1.SendMessageRequest).IdempotencyKey != "k1" {
		t.Fatal("a key the caller chose must be kept")
	}
	batch := withIdempotencyKeys(&envoyv1.BatchSendMessagesRequest{Messages: []*envoyv1.SendMessageRequest{{}, {IdempotencyKey: "k2"}}})
	keys := batch.(*envoyv1.BatchSendMessagesRequest).Messages
	if keys[0].IdempotencyKey == "" || keys[1].IdempotencyKey != "k2" {
		t.Fatalf("batch keys %q, %q", keys[0].IdempotencyKey, keys[1].IdempotencyKey)
	}
}
