//! Example agent runner (the CLI every client language shares, so runners interoperate).
//!
//! ```text
//! cargo run --example runner -- --name alice                  # responder: waits for a message
//! cargo run --example runner -- --name bob --peer id1         # initiator: pings id1
//! cargo run --example runner -- listen --agent-id id1 --token T --count 10
//! cargo run --example runner -- bad-request --agent-id id1 --token T
//! cargo run --example runner -- bench --agent-id id1 --token T --count 1000
//! ```
//!
//! Every line on stdout is one JSON object; see clients/rust/README.md.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use envoy_client::v1::{
    AckMessageRequest, CreateDiscoveryRequest, CreateSessionRequest, Message, Part, RecordToolCallRequest,
    RegisterAgentRequest, SearchRequest, SendMessageRequest, part::Content,
};
use envoy_client::{EnvoyClient, RetryPolicy, SubscribeOptions};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tonic::{Code, Status};

const LANG: &str = "rust";

type Messages = Pin<Box<dyn Stream<Item = Result<Message, Status>> + Send>>;

struct Options {
    mode: String,
    target: String,
    name: String,
    peer: String,
    project: String,
    timeout: f64,
    agent_id: String,
    token: String,
    count: usize,
}

fn parse_options() -> Result<Options, Status> {
    let mut flags: BTreeMap<String, String> = BTreeMap::new();
    let mut positionals = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.strip_prefix("--") {
            Some(flag) => {
                let (key, value) = match flag.split_once('=') {
                    Some((key, value)) => (key.to_owned(), value.to_owned()),
                    None => {
                        let value = args
                            .next()
                            .ok_or_else(|| Status::invalid_argument(format!("--{flag}: expected a value")))?;
                        (flag.to_owned(), value)
                    }
                };
                flags.insert(key, value);
            }
            None => positionals.push(arg),
        }
    }
    let mut take = |key: &str, default: &str| flags.remove(key).unwrap_or_else(|| default.to_owned());
    let default_target = std::env::var("ENVOY_GRPC").unwrap_or_else(|_| "127.0.0.1:9877".into());
    let options = Options {
        mode: positionals.first().cloned().unwrap_or_else(|| "exchange".into()),
        target: take("target", &default_target),
        name: take("name", ""),
        peer: take("peer", ""),
        project: take("project", "runners"),
        timeout: parse_number(&take("timeout", "30"), "--timeout")?,
        agent_id: take("agent-id", ""),
        token: take("token", ""),
        count: parse_number(&take("count", "1"), "--count")?,
    };
    if let Some(unknown) = flags.keys().next() {
        return Err(Status::invalid_argument(format!("--{unknown}: unknown option")));
    }
    Ok(options)
}

fn parse_number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, Status> {
    text.parse().map_err(|_| Status::invalid_argument(format!("{flag}: expected a number, got {text:?}")))
}

fn emit(event: Value) {
    println!("{event}");
}

/// `InvalidArgument` -> `INVALID_ARGUMENT`, the spelling every runner prints.
fn code_name(code: Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

fn text_of(message: &Message) -> &str {
    message
        .parts
        .iter()
        .find_map(|part| match &part.content {
            Some(Content::Text(text)) => Some(text.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

fn text_part(text: String) -> Vec<Part> {
    vec![Part { content: Some(Content::Text(text)) }]
}

/// Opens a resuming subscription and returns once the server has accepted the stream.
async fn open_stream(client: &EnvoyClient, agent_id: &str) -> Result<Messages, Status> {
    let connected = Arc::new(Notify::new());
    let notify = connected.clone();
    let options =
        SubscribeOptions { on_connect: Some(Arc::new(move || notify.notify_one())), ..Default::default() };
    let mut stream: Messages = Box::pin(client.subscribe(agent_id, options));
    // The stream only dials when polled: poll it until the connect callback fires (or it fails).
    // Dropping a pending next() loses nothing: the stream keeps its own state.
    let first = tokio::select! {
        _ = connected.notified() => None,
        item = stream.next() => Some(item),
    };
    match first {
        None => Ok(stream),
        Some(Some(Err(status))) => Err(status),
        Some(Some(Ok(message))) => Ok(Box::pin(futures_util::stream::iter([Ok(message)]).chain(stream))),
        Some(None) => Err(Status::unavailable("the subscription ended")),
    }
}

/// Reads the stream until a message matches `accept` (each message is yielded once by the client layer).
async fn next_matching(stream: &mut Messages, accept: impl Fn(&Message) -> bool) -> Result<Message, Status> {
    loop {
        match stream.next().await {
            Some(Ok(message)) if accept(&message) => return Ok(message),
            Some(Ok(_)) => continue,
            Some(Err(status)) => return Err(status),
            None => return Err(Status::unavailable("the subscription ended")),
        }
    }
}

async fn ack(client: &EnvoyClient, message_id: &str) -> Result<(), Status> {
    let request = AckMessageRequest { message_id: message_id.to_owned(), ..Default::default() };
    client.retry(async || client.messages().ack_message(request.clone()).await).await.map(drop)
}

/// Sends a direct message; the random idempotency key makes the retry safe.
async fn send(client: &EnvoyClient, to: &str, text: String) -> Result<Message, Status> {
    let request = SendMessageRequest {
        to: to.to_owned(),
        parts: text_part(text),
        idempotency_key: format!("{LANG}-{:016x}", fastrand::u64(..)),
        ..Default::default()
    };
    client.retry(async || client.messages().send_message(request.clone()).await).await
}

async fn exchange(options: &Options, client: &EnvoyClient) -> Result<(), Status> {
    if options.name.is_empty() {
        return Err(Status::invalid_argument("--name is required"));
    }
    let register =
        RegisterAgentRequest { name: options.name.clone(), kind: "runner".into(), parent_id: None };
    let me = client.agents().register_agent(register).await?.into_inner();
    if me.token.is_empty() {
        return Err(Status::already_exists(format!(
            "agent name {} is already registered; pick another --name",
            options.name
        )));
    }
    client.set_token(&me.token)?;
    let child = RegisterAgentRequest {
        name: format!("{}-sub", options.name),
        kind: "runner".into(),
        parent_id: Some(me.agent_id.clone()),
    };
    let sub = client.agents().register_agent(child).await?.into_inner();
    let mut stream = open_stream(client, &me.agent_id).await?;
    emit(json!({"event": "ready", "agent_id": me.agent_id, "subagent_id": sub.agent_id}));

    let received = if options.peer.is_empty() {
        next_matching(&mut stream, |_| true).await?
    } else {
        send(client, &options.peer, format!("ping from {LANG}")).await?;
        next_matching(&mut stream, |m| m.from == options.peer).await?
    };
    ack(client, &received.message_id).await?;
    let text = text_of(&received);
    emit(
        json!({"event": "received", "from": received.from, "text": text, "message_id": received.message_id}),
    );
    if options.peer.is_empty() {
        send(client, &received.from, format!("pong from {LANG}: {text}")).await?;
    }
    record_work(options, client, &me.agent_id).await
}

/// A session with one tool call, a discovery, and a search that finds it.
async fn record_work(options: &Options, client: &EnvoyClient, agent_id: &str) -> Result<(), Status> {
    let session_id = format!("runner-{LANG}-{agent_id}");
    let session = CreateSessionRequest {
        session_id: session_id.clone(),
        agent: options.name.clone(),
        project: options.project.clone(),
        tool: "envoy-runner".into(),
        ..Default::default()
    };
    client.sessions().create_session(session).await?;
    let call = RecordToolCallRequest {
        session_id: session_id.clone(),
        tool_name: "SendMessage".into(),
        exit_status: "success".into(),
        tool_category: "messaging".into(),
        ..Default::default()
    };
    client.sessions().record_tool_call(call).await?;
    let why = prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(format!(
            "the {LANG} runner exchanged a message through envoy-grpc"
        ))),
    };
    let discovery = CreateDiscoveryRequest {
        agent: options.name.clone(),
        discovery_type: "Pattern".into(),
        target: format!("runner handshake {LANG}"),
        project: options.project.clone(),
        session_id: Some(session_id),
        metadata: Some(prost_types::Struct { fields: [("why".to_owned(), why)].into() }),
    };
    client.knowledge().create_discovery(discovery).await?;
    let search = SearchRequest {
        q: "handshake".into(),
        project: options.project.clone(),
        kind: "Discovery".into(),
        ..Default::default()
    };
    let found = client.knowledge().search(search).await?.into_inner();
    emit(json!({"event": "done", "search_hits": found.count}));
    Ok(())
}

async fn listen(options: &Options, client: &EnvoyClient) -> Result<(), Status> {
    let mut stream = open_stream(client, &options.agent_id).await?;
    emit(json!({"event": "ready", "agent_id": options.agent_id}));
    for _ in 0..options.count {
        let message = next_matching(&mut stream, |_| true).await?;
        let text = text_of(&message);
        emit(
            json!({"event": "message", "message_id": message.message_id, "sequence": message.sequence_id, "text": text}),
        );
        ack(client, &message.message_id).await?;
    }
    Ok(())
}

async fn bad_request(options: &Options, client: &EnvoyClient) -> Result<(), Status> {
    // No parts: the server must refuse it with INVALID_ARGUMENT naming `parts`.
    let request = SendMessageRequest {
        from: options.agent_id.clone(),
        to: options.agent_id.clone(),
        ..Default::default()
    };
    client.messages().send_message(request).await?;
    Err(Status::internal("the server accepted a message with no parts"))
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((p / 100.0) * sorted.len() as f64) as usize;
    sorted.get(index.min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Receives --count messages whose text is `t=<unix ns sent>` and reports rate and push latency.
async fn bench(options: &Options, client: &EnvoyClient) -> Result<(), Status> {
    let mut stream = open_stream(client, &options.agent_id).await?;
    emit(json!({"event": "ready", "agent_id": options.agent_id}));
    let mut latencies = Vec::with_capacity(options.count);
    let mut acks = tokio::task::JoinSet::new();
    let mut started = None;
    while latencies.len() < options.count {
        let message = next_matching(&mut stream, |_| true).await?;
        let arrived = now_ns();
        started.get_or_insert_with(Instant::now);
        let sent: i128 = text_of(&message).trim_start_matches("t=").parse().unwrap_or(arrived);
        latencies.push((arrived - sent) as f64 / 1e6);
        // Acks go out concurrently (at most 64 in flight) so the stream is never held up by an ack's round trip.
        let (client, id) = (client.clone(), message.message_id.clone());
        acks.spawn_local(async move { ack(&client, &id).await });
        if acks.len() >= 64 {
            acks.join_next().await.expect("an ack is in flight").expect("ack task panicked")?;
        }
    }
    let seconds = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
    while let Some(result) = acks.join_next().await {
        result.expect("ack task panicked")?;
    }
    latencies.sort_by(f64::total_cmp);
    emit(json!({
        "event": "bench",
        "lang": LANG,
        "received": latencies.len(),
        "seconds": round(seconds, 4),
        "msgs_per_s": round(latencies.len() as f64 / seconds.max(1e-9), 1),
        "p50_latency_ms": round(percentile(&latencies, 50.0), 3),
        "p99_latency_ms": round(percentile(&latencies, 99.0), 3),
    }));
    Ok(())
}

async fn run(options: &Options) -> Result<(), Status> {
    let mut client = EnvoyClient::connect_lazy(&options.target)
        .map_err(|e| Status::invalid_argument(format!("--target: {e}")))?;
    // A runner waits on streams and servers that may restart, so it retries more patiently than the default.
    client.retry_policy = RetryPolicy { max_attempts: 10, ..Default::default() };
    if !options.token.is_empty() {
        client.set_token(&options.token)?;
    }
    match options.mode.as_str() {
        "exchange" => exchange(options, &client).await,
        "listen" => listen(options, &client).await,
        "bad-request" => bad_request(options, &client).await,
        "bench" => bench(options, &client).await,
        other => Err(Status::invalid_argument(format!(
            "unknown mode {other}; expected exchange, listen, bad-request, bench"
        ))),
    }
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, async {
        let options = parse_options()?;
        let limit = Duration::from_secs_f64(options.timeout.max(0.0));
        match tokio::time::timeout(limit, run(&options)).await {
            Ok(result) => result.map(|()| None),
            Err(_) => Ok(Some(options.timeout)),
        }
    });
    match outcome {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(seconds)) => {
            emit(
                json!({"event": "error", "code": "DEADLINE_EXCEEDED", "message": format!("gave up after {seconds} s")}),
            );
            ExitCode::from(2)
        }
        Err(status) => {
            emit(json!({"event": "error", "code": code_name(status.code()), "message": status.message()}));
            ExitCode::from(1)
        }
    }
}
