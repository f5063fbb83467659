//! Subscribe as a Stream that survives disconnects: it resumes after the last sequence it saw and
//! drops a message ID it has already yielded (the server's promise is at-least-once).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures_util::Stream;
use tonic::{Status, Streaming};

use crate::client::{Authed, EnvoyClient};
use crate::r#gen::envoy::v1::{Message, SubscribeRequest, message_service_client::MessageServiceClient};
use crate::retry::{RetryPolicy, backoff, connection_lost_as_unavailable, is_retryable};

/// Options for [`EnvoyClient::subscribe`].
#[derive(Clone)]
pub struct SubscribeOptions {
    /// Start after this per-recipient sequence (0 replays everything not yet acknowledged).
    pub after_sequence: i64,
    /// Consecutive failed connection attempts before the stream yields the error and ends (default 30,
    /// about two minutes with the default backoff). A stream the server accepts resets the count.
    pub max_reconnect_attempts: u32,
    /// How many recent message IDs to remember for de-duplication (default 10,000).
    pub dedup_window: usize,
    /// Called each time the server accepts a stream (its response headers arrived).
    pub on_connect: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        Self { after_sequence: 0, max_reconnect_attempts: 30, dedup_window: 10_000, on_connect: None }
    }
}

/// A bounded set of recent IDs: old IDs leave in insertion order once the window is full.
struct RecentIds {
    ids: HashSet<String>,
    order: VecDeque<String>,
    limit: usize,
}

impl RecentIds {
    /// Records `id`; false when it was already there.
    fn insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        if self.order.len() > self.limit.max(1)
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

struct State {
    client: MessageServiceClient<Authed>,
    agent_id: String,
    after: i64,
    seen: RecentIds,
    stream: Option<Streaming<Message>>,
    failures: u32,
    policy: RetryPolicy,
    options: SubscribeOptions,
    done: bool,
}

impl State {
    /// Counts a lost or refused connection; the error to end with once there were too many.
    fn disconnected(&mut self, status: Status) -> Option<Status> {
        let status = connection_lost_as_unavailable(status);
        self.stream = None;
        self.failures += 1;
        if !is_retryable(&status) || self.failures > self.options.max_reconnect_attempts {
            self.done = true;
            return Some(status);
        }
        None
    }

    async fn next(&mut self) -> Option<Result<Message, Status>> {
        while !self.done {
            let Some(stream) = self.stream.as_mut() else {
                if self.failures > 0 {
                    tokio::time::sleep(backoff(self.failures, &self.policy)).await;
                }
                let request =
                    SubscribeRequest { agent_id: self.agent_id.clone(), after_sequence: self.after };
                match self.client.subscribe(request).await {
                    Ok(response) => {
                        self.stream = Some(response.into_inner());
                        self.failures = 0;
                        if let Some(on_connect) = &self.options.on_connect {
                            on_connect();
                        }
                    }
                    Err(status) => {
                        if let Some(error) = self.disconnected(status) {
                            return Some(Err(error));
                        }
                    }
                }
                continue;
            };
            match stream.message().await {
                Ok(Some(message)) => {
                    self.after = self.after.max(message.sequence_id);
                    if self.seen.insert(&message.message_id) {
                        return Some(Ok(message));
                    }
                }
                // The server ended the stream (a shutdown): reconnect like after an error.
                Ok(None) => {
                    if let Some(error) = self.disconnected(Status::unavailable("the server ended the stream"))
                    {
                        return Some(Err(error));
                    }
                }
                Err(status) => {
                    if let Some(error) = self.disconnected(status) {
                        return Some(Err(error));
                    }
                }
            }
        }
        None
    }
}

impl EnvoyClient {
    /// Messages pushed to `agent_id`, each once. After a disconnect (UNAVAILABLE, CANCELLED, a reset
    /// connection or a stream the server ended) it waits with jittered backoff and reopens the stream
    /// with `after_sequence` = the last sequence seen. Any other error is yielded once, then the stream
    /// ends. Drop the stream to unsubscribe.
    pub fn subscribe(
        &self,
        agent_id: impl Into<String>,
        options: SubscribeOptions,
    ) -> impl Stream<Item = Result<Message, Status>> + Send + 'static {
        let state = State {
            client: self.messages(),
            agent_id: agent_id.into(),
            after: options.after_sequence,
            seen: RecentIds { ids: HashSet::new(), order: VecDeque::new(), limit: options.dedup_window },
            stream: None,
            failures: 0,
            policy: self.retry_policy,
            options,
            done: false,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
    }
}
