//! Retries for unary calls: exponential backoff with full jitter on UNAVAILABLE and CANCELLED.

use std::time::Duration;

use tonic::{Code, Status};

/// How often and how patiently a call is retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 turns retries off.
    pub max_attempts: u32,
    /// Upper bound of the first backoff.
    pub initial_backoff: Duration,
    /// Upper bound of any backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, backoff ceilings 100 ms, 200 ms, 400 ms, ... up to 5 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The codes that say "the call did not get through, try again": a restart, a lost connection, a shutdown.
/// Apply [`connection_lost_as_unavailable`] first so a broken connection counts too.
pub fn is_retryable(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::Cancelled)
}

/// tonic reports a connection that broke mid-call (the server was killed, a reset) as UNKNOWN
/// "transport error" or "h2 protocol error" unless its `server` feature is on. The gRPC status-code
/// guide calls that UNAVAILABLE. A status the server sent has no `source`; one made locally from an
/// I/O, HTTP/2 or transport error has, so only those are rewritten.
pub fn connection_lost_as_unavailable(status: Status) -> Status {
    let local = std::error::Error::source(&status).is_some();
    if local && matches!(status.code(), Code::Unknown | Code::Internal) {
        return Status::unavailable(format!("connection lost: {}", status.message()));
    }
    status
}

/// Full jitter: a uniform delay in `[0, min(max, initial * 2^(attempt-1)))`.
pub fn backoff(attempt: u32, policy: &RetryPolicy) -> Duration {
    let doubling = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    let ceiling = policy.initial_backoff.saturating_mul(doubling).min(policy.max_backoff);
    ceiling.mul_f64(fastrand::f64())
}

/// Runs `call` until it succeeds, fails with a code that is not retryable, or uses up the attempts.
pub(crate) async fn with_retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut attempt = 1;
    loop {
        match call().await.map_err(connection_lost_as_unavailable) {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if attempt < policy.max_attempts && is_retryable(&status) => {
                tokio::time::sleep(backoff(attempt, policy)).await;
                attempt += 1;
            }
            Err(status) => return Err(status),
        }
    }
}
