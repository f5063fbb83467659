// One connection to an envoy-grpc server, with a typed client per service and the hand-written extras.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "./gen/envoy/v1/agents_pb.js";
import { CodeService } from "./gen/envoy/v1/code_pb.js";
import { GraphService } from "./gen/envoy/v1/graph_pb.js";
import { HookService } from "./gen/envoy/v1/hooks_pb.js";
import { KnowledgeService } from "./gen/envoy/v1/knowledge_pb.js";
import { type Message, MessageService } from "./gen/envoy/v1/messages_pb.js";
import { ProjectEventService, SessionService } from "./gen/envoy/v1/sessions_pb.js";
import { SystemService } from "./gen/envoy/v1/system_pb.js";
import { bearerInterceptor, idempotencyInterceptor } from "./auth.js";
import { defaultRetryPolicy, retryInterceptor, type RetryPolicy } from "./retry.js";
import { resumingSubscribe, type SubscribeOptions } from "./subscribe.js";

/** Where the server is and who is calling. */
export interface EnvoyClientOptions {
  /** `host:port` of the gRPC listener, or a full `http://host:port` URL (default $ENVOY_GRPC or 127.0.0.1:9877). */
  target?: string;
  /** The agent's token from RegisterAgent; settable later with setToken(). */
  token?: string;
  /** Retry policy for unary calls (merged over the defaults: 5 attempts, 100 ms .. 5 s). */
  retry?: Partial<RetryPolicy>;
  /** Extra interceptors, run outside the built-in ones. */
  interceptors?: Interceptor[];
}

/** Typed clients for every envoy.v1 service over one HTTP/2 connection. */
export class EnvoyClient {
  readonly agents: Client<typeof AgentService>;
  readonly messages: Client<typeof MessageService>;
  readonly sessions: Client<typeof SessionService>;
  readonly projectEvents: Client<typeof ProjectEventService>;
  readonly knowledge: Client<typeof KnowledgeService>;
  readonly graph: Client<typeof GraphService>;
  readonly code: Client<typeof CodeService>;
  readonly hooks: Client<typeof HookService>;
  readonly system: Client<typeof SystemService>;
  readonly retryPolicy: RetryPolicy;
  private token: string | undefined;

  constructor(options: EnvoyClientOptions = {}) {
    this.token = options.token;
    this.retryPolicy = { ...defaultRetryPolicy, ...options.retry };
    const transport = createGrpcTransport({
      baseUrl: baseUrl(options.target ?? process.env.ENVOY_GRPC ?? "127.0.0.1:9877"),
      // Interceptors at the end of the list run closest to the wire: the key is set once, before any retry.
      interceptors: [
        ...(options.interceptors ?? []),
        idempotencyInterceptor(),
        retryInterceptor(this.retryPolicy),
        bearerInterceptor(() => this.token),
      ],
    });
    this.agents = createClient(AgentService, transport);
    this.messages = createClient(MessageService, transport);
    this.sessions = createClient(SessionService, transport);
    this.projectEvents = createClient(ProjectEventService, transport);
    this.knowledge = createClient(KnowledgeService, transport);
    this.graph = createClient(GraphService, transport);
    this.code = createClient(CodeService, transport);
    this.hooks = createClient(HookService, transport);
    this.system = createClient(SystemService, transport);
  }

  /** Uses `token` for every later call (for example the one RegisterAgent returned). */
  setToken(token: string): void {
    this.token = token;
  }

  /** Messages pushed to `agentId`, each once, resuming across disconnects (see resumingSubscribe). */
  subscribe(agentId: string, options: SubscribeOptions = {}): AsyncGenerator<Message, void, undefined> {
    return resumingSubscribe(this.messages, agentId, this.retryPolicy, options);
  }
}

function baseUrl(target: string): string {
  return /^https?:\/\//.test(target) ? target : `http://${target}`;
}
