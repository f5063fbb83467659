// Example agent runner (the CLI every client language shares, so runners interoperate).
//
//   node dist/examples/runner.js --name alice                    # responder: waits for a message
//   node dist/examples/runner.js --name bob --peer id1           # initiator: pings id1
//   node dist/examples/runner.js listen --agent-id id1 --token T --count 10
//   node dist/examples/runner.js bad-request --agent-id id1 --token T
//   node dist/examples/runner.js bench --agent-id id1 --token T --count 1000
//
// Every line on stdout is one JSON object; see clients/ts/README.md.
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvoyClient } from "../src/client.js";
import type { Message } from "../src/gen/envoy/v1/messages_pb.js";

const LANG = "ts";

interface Options {
  mode: string;
  target: string;
  name: string;
  peer: string;
  project: string;
  timeoutSeconds: number;
  agentId: string;
  token: string;
  count: number;
}

function parseOptions(): Options {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: "string", default: process.env.ENVOY_GRPC ?? "127.0.0.1:9877" },
      name: { type: "string", default: "" },
      peer: { type: "string", default: "" },
      project: { type: "string", default: "runners" },
      timeout: { type: "string", default: "30" },
      "agent-id": { type: "string", default: "" },
      token: { type: "string", default: "" },
      count: { type: "string", default: "1" },
    },
  });
  return {
    mode: positionals[0] ?? "exchange",
    target: values.target,
    name: values.name,
    peer: values.peer,
    project: values.project,
    timeoutSeconds: Number(values.timeout),
    agentId: values["agent-id"],
    token: values.token,
    count: Number(values.count),
  };
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + "\n");
}

/** `InvalidArgument` -> `INVALID_ARGUMENT`, the spelling every runner prints. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function textOf(message: Message): string {
  const part = message.parts.find((p) => p.content.case === "text");
  return part?.content.case === "text" ? part.content.value : "";
}

/** Reads the stream until a message matches `accept` (each message is yielded once by the client layer). */
async function nextMatching(
  stream: AsyncIterator<Message>,
  accept: (m: Message) => boolean,
): Promise<Message> {
  for (;;) {
    const { value, done } = await stream.next();
    if (done) throw new ConnectError("the subscription ended", Code.Unavailable);
    if (accept(value)) return value;
  }
}

/** Opens a resuming subscription and resolves once the server has accepted the stream. */
async function openStream(
  client: EnvoyClient,
  agentId: string,
  signal: AbortSignal,
): Promise<AsyncIterator<Message>> {
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  const iterator = client.subscribe(agentId, { signal, onConnect: () => connected() });
  // The generator only dials when first pulled: pull once now and hand that pending result back first.
  const first = iterator.next();
  first.catch(() => undefined); // surfaced by the caller's first next()
  let handedFirst = false;
  const stream: AsyncIterator<Message> = {
    next: () => {
      if (!handedFirst) {
        handedFirst = true;
        return first;
      }
      return iterator.next();
    },
  };
  await Promise.race([ready, first.then(() => undefined)]);
  return stream;
}

async function exchange(options: Options, client: EnvoyClient, signal: AbortSignal): Promise<void> {
  if (!options.name) throw new ConnectError("--name is required", Code.InvalidArgument);
  const me = await client.agents.registerAgent({ name: options.name, kind: "runner" });
  if (!me.token) {
    throw new ConnectError(`agent name ${options.name} is already registered; pick another --name`, Code.AlreadyExists);
  }
  client.setToken(me.token);
  const sub = await client.agents.registerAgent({ name: `${options.name}-sub`, kind: "runner", parentId: me.agentId });
  const stream = await openStream(client, me.agentId, signal);
  emit({ event: "ready", agent_id: me.agentId, subagent_id: sub.agentId });

  let received: Message;
  if (options.peer) {
    await client.messages.sendMessage({ to: options.peer, parts: [{ content: { case: "text", value: `ping from ${LANG}` } }] });
    received = await nextMatching(stream, (m) => m.from === options.peer);
  } else {
    received = await nextMatching(stream, () => true);
  }
  await client.messages.ackMessage({ messageId: received.messageId });
  emit({ event: "received", from: received.from, text: textOf(received), message_id: received.messageId });
  if (!options.peer) {
    const reply = `pong from ${LANG}: ${textOf(received)}`;
    await client.messages.sendMessage({ to: received.from, parts: [{ content: { case: "text", value: reply } }] });
  }
  await recordWork(options, client, me.agentId);
}

/** A session with one tool call, a discovery, and a search that finds it. */
async function recordWork(options: Options, client: EnvoyClient, agentId: string): Promise<void> {
  const sessionId = `runner-${LANG}-${agentId}`;
  await client.sessions.createSession({ sessionId, agent: options.name, project: options.project, tool: "envoy-runner" });
  await client.sessions.recordToolCall({ sessionId, toolName: "SendMessage", exitStatus: "success", toolCategory: "messaging" });
  await client.knowledge.createDiscovery({
    agent: options.name,
    discoveryType: "Pattern",
    target: `runner handshake ${LANG}`,
    project: options.project,
    sessionId,
    metadata: { why: `the ${LANG} runner exchanged a message through envoy-grpc` },
  });
  const found = await client.knowledge.search({ q: "handshake", project: options.project, kind: "Discovery" });
  emit({ event: "done", search_hits: found.count });
}

async function listen(options: Options, client: EnvoyClient, signal: AbortSignal): Promise<void> {
  const stream = await openStream(client, options.agentId, signal);
  emit({ event: "ready", agent_id: options.agentId });
  for (let seen = 0; seen < options.count; seen++) {
    const message = await nextMatching(stream, () => true);
    emit({ event: "message", message_id: message.messageId, sequence: Number(message.sequenceId), text: textOf(message) });
    await client.messages.ackMessage({ messageId: message.messageId });
  }
}

async function badRequest(options: Options, client: EnvoyClient): Promise<void> {
  // No parts: the server must refuse it with INVALID_ARGUMENT naming `parts`.
  await client.messages.sendMessage({ from: options.agentId, to: options.agentId, parts: [] });
  throw new ConnectError("the server accepted a message with no parts", Code.Internal);
}

function nowNs(): number {
  return (performance.timeOrigin + performance.now()) * 1e6;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Receives --count messages whose text is `t=<unix ns sent>` and reports rate and push latency. */
async function bench(options: Options, client: EnvoyClient, signal: AbortSignal): Promise<void> {
  const stream = await openStream(client, options.agentId, signal);
  emit({ event: "ready", agent_id: options.agentId });
  const latencies: number[] = [];
  const acks = new Set<Promise<unknown>>();
  let started = 0;
  while (latencies.length < options.count) {
    const message = await nextMatching(stream, () => true);
    const arrived = nowNs();
    if (latencies.length === 0) started = arrived;
    latencies.push((arrived - Number(textOf(message).slice(2))) / 1e6);
    // Acks go out concurrently (at most 64 in flight) so the stream is never held up by an ack's round trip.
    const ack = client.messages.ackMessage({ messageId: message.messageId }).finally(() => acks.delete(ack));
    acks.add(ack);
    if (acks.size >= 64) await Promise.race(acks);
  }
  const seconds = (nowNs() - started) / 1e9;
  await Promise.all(acks);
  latencies.sort((a, b) => a - b);
  emit({
    event: "bench",
    lang: LANG,
    received: latencies.length,
    seconds: round(seconds, 4),
    msgs_per_s: round(latencies.length / Math.max(seconds, 1e-9), 1),
    p50_latency_ms: round(percentile(latencies, 50), 3),
    p99_latency_ms: round(percentile(latencies, 99), 3),
  });
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

async function main(): Promise<number> {
  const options = parseOptions();
  // A runner waits on streams and servers that may restart, so it retries more patiently than the default.
  const client = new EnvoyClient({ target: options.target, token: options.token || undefined, retry: { maxAttempts: 10 } });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutSeconds * 1000);
  const timedOut = new Promise<never>((_, reject) =>
    abort.signal.addEventListener("abort", () => reject(new ConnectError("timed out", Code.DeadlineExceeded))),
  );
  try {
    const modes: Record<string, () => Promise<void>> = {
      exchange: () => exchange(options, client, abort.signal),
      listen: () => listen(options, client, abort.signal),
      "bad-request": () => badRequest(options, client),
      bench: () => bench(options, client, abort.signal),
    };
    const run = modes[options.mode];
    if (!run) throw new ConnectError(`unknown mode ${options.mode}; expected ${Object.keys(modes).join(", ")}`, Code.InvalidArgument);
    await Promise.race([run(), timedOut]);
    return 0;
  } catch (error) {
    if (abort.signal.aborted) {
      emit({ event: "error", code: "DEADLINE_EXCEEDED", message: `gave up after ${options.timeoutSeconds} s` });
      return 2;
    }
    const connectError = ConnectError.from(error);
    emit({ event: "error", code: codeName(connectError.code), message: connectError.rawMessage });
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

process.exit(await main());
