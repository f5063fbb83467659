//! One channel to an envoy-grpc server, with a typed client per service that carries the token.

use std::sync::{Arc, RwLock};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::r#gen::envoy::v1::{
    agent_service_client::AgentServiceClient, code_service_client::CodeServiceClient,
    graph_service_client::GraphServiceClient, hook_service_client::HookServiceClient,
    knowledge_service_client::KnowledgeServiceClient, message_service_client::MessageServiceClient,
    project_event_service_client::ProjectEventServiceClient, session_service_client::SessionServiceClient,
    system_service_client::SystemServiceClient,
};
use crate::retry::{RetryPolicy, with_retry};

/// Adds `authorization: Bearer <token>` to every call once a token is set; shared by all clones.
#[derive(Clone, Default)]
pub struct BearerToken(Arc<RwLock<Option<MetadataValue<Ascii>>>>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let token = self.0.read().expect("token lock poisoned").clone();
        if let Some(value) = token {
            request.metadata_mut().entry("authorization").expect("valid key").or_insert(value);
        }
        Ok(request)
    }
}

/// The transport every generated client is built on: the shared channel plus the token.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// A connection to one server. Cheap to clone; clones share the channel and the token.
#[derive(Clone)]
pub struct EnvoyClient {
    channel: Channel,
    token: BearerToken,
    /// The policy [`EnvoyClient::retry`] and [`EnvoyClient::subscribe`] use.
    pub retry_policy: RetryPolicy,
}

macro_rules! service_clients {
    ($($(#[$doc:meta])* $name:ident => $client:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> $client<Authed> {
            $client::with_interceptor(self.channel.clone(), self.token.clone())
        }
    )*};
}

impl EnvoyClient {
    /// A client for `target` (`host:port` or `http://host:port`). The connection is made on the first
    /// call and re-made after a disconnect, so this never fails for a server that is down.
    pub fn connect_lazy(target: &str) -> Result<Self, tonic::transport::Error> {
        let uri = if target.contains("://") { target.to_owned() } else { format!("http://{target}") };
        let channel = Endpoint::from_shared(uri)?.connect_lazy();
        Ok(Self { channel, token: BearerToken::default(), retry_policy: RetryPolicy::default() })
    }

    /// Uses `token` (from RegisterAgent) for every later call of this client and its clones.
    pub fn set_token(&self, token: &str) -> Result<(), Status> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("token: expected printable ASCII"))?;
        *self.token.0.write().expect("token lock poisoned") = Some(value);
        Ok(())
    }

    service_clients! {
        /// AgentService: register, look up, retire agents; heartbeats; circuits.
        agents => AgentServiceClient;
        /// MessageService: send, ack, subscribe (prefer [`EnvoyClient::subscribe`] for the stream).
        messages => MessageServiceClient;
        /// SessionService: sessions, tool calls, commits, test runs.
        sessions => SessionServiceClient;
        /// ProjectEventService: project and audit events.
        project_events => ProjectEventServiceClient;
        /// KnowledgeService: discoveries, memories, handoffs, search.
        knowledge => KnowledgeServiceClient;
        /// GraphService: the knowledge graph.
        graph => GraphServiceClient;
        /// CodeService: code index and search.
        code => CodeServiceClient;
        /// HookService: Claude Code and Codex hooks.
        hooks => HookServiceClient;
        /// SystemService: health and statistics.
        system => SystemServiceClient;
    }

    /// Runs a unary call, repeating it on UNAVAILABLE or CANCELLED with jittered exponential backoff,
    /// at most `retry_policy.max_attempts` times, and returns the response message:
    ///
    /// ```ignore
    /// let agent = client.retry(async || client.agents().get_agent(request.clone()).await).await?;
    /// ```
    ///
    /// Only repeat calls that are safe to repeat: SendMessage with an `idempotency_key`, reads, acks.
    pub async fn retry<T, F, Fut>(&self, call: F) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        with_retry(&self.retry_policy, call).await
    }
}
