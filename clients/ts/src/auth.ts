// The bearer token every call but RegisterAgent needs, and the idempotency key that makes a send safe to retry.
import { randomUUID } from "node:crypto";
import { isMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { SendMessageRequestSchema } from "./gen/envoy/v1/messages_pb.js";

/** Adds `authorization: Bearer <token>` when a token is known (read at call time, so it may change). */
export function bearerInterceptor(token: () => string | undefined): Interceptor {
  return (next) => async (req) => {
    const value = token();
    if (value && !req.header.has("authorization")) {
      req.header.set("authorization", `Bearer ${value}`);
    }
    return next(req);
  };
}

/**
 * Gives a SendMessage without an idempotency key a random one before its first attempt, so a retry after
 * UNAVAILABLE (did the first attempt land?) returns the first message instead of sending a second one.
 */
export function idempotencyInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream && isMessage(req.message, SendMessageRequestSchema) && !req.message.idempotencyKey) {
      req.message.idempotencyKey = randomUUID();
    }
    return next(req);
  };
}
