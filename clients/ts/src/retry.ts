// Retries for unary calls: exponential backoff with full jitter on UNAVAILABLE and CANCELLED.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** How often and how patiently a call is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). 1 turns retries off. */
  maxAttempts: number;
  /** Upper bound of the first backoff, in milliseconds (default 100). */
  initialBackoffMs: number;
  /** Upper bound of any backoff, in milliseconds (default 5000). */
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5000 };

/** The codes that say "the call did not get through, try again": a restart, a lost connection, a shutdown. */
export function isRetryable(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.Unavailable || code === Code.Canceled || isConnectionLost(error);
}

/** Node's codes for a connection or HTTP/2 session that went away under a call. */
const LOST = /^(ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT|ERR_HTTP2_\w+|ERR_STREAM_DESTROYED|ERR_STREAM_PREMATURE_CLOSE)$/;

/**
 * connect-node reports a connection that broke mid-call (the server was killed: `read ECONNRESET`) as
 * ABORTED or INTERNAL, with the Node error as its cause. The gRPC status-code guide calls that
 * UNAVAILABLE. A status the server sent has no such cause, so it is never mistaken for one.
 */
export function isConnectionLost(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && LOST.test(code)) return true;
    cause = cause.cause;
  }
  return false;
}

/** Full jitter (AWS architecture blog): a uniform delay in [0, min(max, initial * 2^(attempt-1))). */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.random() * ceiling;
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(ConnectError.from(signal.reason, Code.Canceled));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal?.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * An interceptor that repeats a failed unary call. Streams pass through untouched: Subscribe has its own
 * resuming loop (subscribe.ts). A call the caller cancelled or that ran out of time is never repeated.
 */
export function retryInterceptor(policy: RetryPolicy): Interceptor {
  return (next) => async (req) => {
    if (req.stream) {
      return next(req);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        if (attempt >= policy.maxAttempts || !isRetryable(error) || req.signal.aborted) {
          throw error;
        }
        await sleep(backoffMs(attempt, policy), req.signal);
      }
    }
  };
}
