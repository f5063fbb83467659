// @envoy-grpc/client: generated envoy.v1 messages and services plus a thin layer (token, retries, resuming Subscribe).
export { EnvoyClient, type EnvoyClientOptions } from "./client.js";
export { backoffMs, defaultRetryPolicy, isRetryable, type RetryPolicy } from "./retry.js";
export { resumingSubscribe, type SubscribeOptions } from "./subscribe.js";
export * from "./gen/envoy/v1/agents_pb.js";
export * from "./gen/envoy/v1/code_pb.js";
export * from "./gen/envoy/v1/common_pb.js";
export * from "./gen/envoy/v1/graph_pb.js";
export * from "./gen/envoy/v1/hooks_pb.js";
export * from "./gen/envoy/v1/knowledge_pb.js";
export * from "./gen/envoy/v1/messages_pb.js";
export * from "./gen/envoy/v1/sessions_pb.js";
export * from "./gen/envoy/v1/system_pb.js";
