// Subscribe as an AsyncIterable that survives disconnects: it resumes after the last sequence it saw
// and drops a message ID it has already yielded (the server's promise is at-least-once).
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Message, MessageService } from "./gen/envoy/v1/messages_pb.js";
import { backoffMs, isRetryable, sleep, type RetryPolicy } from "./retry.js";

/** Options for subscribe(). */
export interface SubscribeOptions {
  /** Start after this per-recipient sequence (0, the default, replays everything not yet acknowledged). */
  afterSequence?: bigint;
  /** Stops the subscription: the iterator then ends without an error. */
  signal?: AbortSignal;
  /** Called each time a stream is accepted by the server (its response headers arrived). */
  onConnect?: () => void;
  /**
   * Consecutive failed connection attempts before the iterator throws (default 30, about two minutes
   * with the default backoff). A stream the server accepts resets the count.
   */
  maxReconnectAttempts?: number;
  /** How many recent message IDs to remember for de-duplication (default 10,000). */
  dedupWindow?: number;
}

/** A bounded set of recent IDs: old IDs leave in insertion order once the window is full. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly limit: number) {}

  /** Records `id`; false when it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) {
      return false;
    }
    this.ids.add(id);
    if (this.ids.size > this.limit) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}

/**
 * Yields each message pushed to `agentId` once. After a disconnect (UNAVAILABLE, CANCELLED, a reset
 * connection or a stream the server ended) it waits with jittered backoff and reopens the stream with
 * `after_sequence` = the last sequence seen. Other errors (PERMISSION_DENIED, NOT_FOUND, ...) are thrown.
 */
export async function* resumingSubscribe(
  messages: Client<typeof MessageService>,
  agentId: string,
  policy: RetryPolicy,
  options: SubscribeOptions = {},
): AsyncGenerator<Message, void, undefined> {
  const { signal, onConnect } = options;
  const maxAttempts = options.maxReconnectAttempts ?? 30;
  const seen = new RecentIds(options.dedupWindow ?? 10_000);
  let after = options.afterSequence ?? 0n;
  let failures = 0;
  while (!signal?.aborted) {
    try {
      const onHeader = () => {
        failures = 0;
        onConnect?.();
      };
      const stream = messages.subscribe({ agentId, afterSequence: after }, { signal, onHeader });
      for await (const message of stream) {
        if (message.sequenceId > after) after = message.sequenceId;
        if (seen.add(message.messageId)) yield message;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!isRetryable(error)) throw error;
    }
    failures += 1;
    if (failures > maxAttempts) {
      throw new ConnectError(`Subscribe for ${agentId} failed ${maxAttempts} times in a row; giving up`, Code.Unavailable);
    }
    try {
      await sleep(backoffMs(failures, policy), signal);
    } catch {
      return; // aborted while waiting
    }
  }
}
