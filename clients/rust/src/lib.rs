//! Rust client for envoy-grpc.
//!
//! [`gen`] is generated from `proto/` by `scripts/clients/rust.sh` (tonic + prost; do not edit it).
//! The hand-written layer is small: [`EnvoyClient`] attaches the bearer token to every call,
//! [`EnvoyClient::retry`] repeats a unary call on `UNAVAILABLE`/`CANCELLED` with jittered exponential
//! backoff, and [`EnvoyClient::subscribe`] turns `Subscribe` into a [`futures_util::Stream`] that resumes
//! after a disconnect and yields each message ID once.

#[rustfmt::skip]
#[allow(clippy::all, missing_docs, rustdoc::all)]
pub mod r#gen;
mod client;
mod retry;
mod subscribe;

pub use client::{Authed, BearerToken, EnvoyClient};
pub use r#gen::envoy::v1;
pub use retry::{RetryPolicy, backoff, connection_lost_as_unavailable, is_retryable};
pub use subscribe::SubscribeOptions;
