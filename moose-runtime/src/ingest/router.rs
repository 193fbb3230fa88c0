//! The axum router: `/ingest/<path>` (see `topology::routes` for the paths), `/openapi.json`,
//! `/health` and `/ready`, and the auth layer over everything but the probes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;
use tower_http::trace::TraceLayer;

use super::auth::{Tokens, require_token};
use super::body::{body_format, read_body};
use super::config::IngestConfig;
use super::dead_letter::{IngestDeadLetter, write_sorted};
use super::decode::{decode_body, decode_body_sorted};
use super::error::IngestError;
use super::limit::InFlight;
use super::openapi::openapi_document;
use crate::graph::ModelCodec;
use crate::stream::StreamBackend;
use crate::telemetry::{IngestMetrics, Telemetry};
use crate::worker::Readiness;

/// The path prefix of every ingest API.
const INGEST_PREFIX: &str = "/ingest/";

/// One ingest API: `POST /ingest/<path>` for each of its `paths` writes records of `codec`'s
/// model to `topic`.
#[derive(Debug, Clone)]
pub struct IngestRoute {
    /// API name.
    pub name: String,
    /// Optional version.
    pub version: Option<String>,
    /// The paths after `/ingest/` it answers: the declared one first (a custom path, or
    /// `<name>[/<version>]`), then `<name>` when it is the latest version of its name (see
    /// `topology::routes`).
    pub paths: Vec<String>,
    /// The topic records are written to (namespace and version already applied).
    pub topic: String,
    /// Decodes and validates the records.
    pub codec: ModelCodec,
    /// `Some`: invalid records go to this dead-letter stream and the valid ones are written;
    /// `None`: a request with an invalid record is refused whole (400).
    pub dead_letter: Option<IngestDeadLetter>,
}

impl IngestRoute {
    /// The route's declared URL path: `/ingest/<path>`.
    pub fn path(&self) -> String {
        format!("{INGEST_PREFIX}{}", self.paths[0])
    }

    /// Every URL path it answers, the declared one first.
    pub fn urls(&self) -> impl Iterator<Item = String> + '_ {
        self.paths.iter().map(|p| format!("{INGEST_PREFIX}{p}"))
    }
}

/// Everything the ingest API needs: its routes, the stream backend and its limits.
#[derive(Clone)]
pub struct IngestState {
    inner: Arc<Shared>,
}

struct Shared {
    /// By path after `/ingest/`, matched against the raw (not percent-decoded) request path
    /// so an encoded `/` or `..` can never reach a route; with the route's counters.
    routes: HashMap<String, (IngestRoute, Option<IngestMetrics>)>,
    /// Every route path, sorted, for 404 answers.
    known: Vec<String>,
    /// The OpenAPI document of the routes (`GET /openapi.json`).
    openapi: serde_json::Value,
    backend: Arc<dyn StreamBackend>,
    config: IngestConfig,
    tokens: Tokens,
    readiness: Arc<Readiness>,
    /// Bounds the request bodies held at once.
    in_flight: InFlight,
}

impl IngestState {
    /// The state of an ingest API serving `routes`.
    ///
    /// `/ready` answers 200 only once `readiness` says the runtime started, while `backend`
    /// is healthy and no worker `readiness` watches has stopped or kept failing. With
    /// `telemetry`, every route counts its requests, records, bytes and durations. Of two
    /// routes with the same path, the first is kept.
    pub fn new(
        routes: Vec<IngestRoute>,
        backend: Arc<dyn StreamBackend>,
        config: IngestConfig,
        readiness: Arc<Readiness>,
        telemetry: Option<&Telemetry>,
    ) -> Self {
        let openapi = openapi_document(&routes, !config.tokens.is_empty());
        let mut by_key = HashMap::with_capacity(routes.len());
        for route in routes {
            let metrics = telemetry.map(|t| t.ingest(&route.path()));
            for key in &route.paths {
                if by_key.contains_key(key) {
                    // The graph refuses two APIs at one path when they are declared.
                    tracing::warn!(path = %key, "two ingest APIs share a path; the first is kept");
                    continue;
                }
                by_key.insert(key.clone(), (route.clone(), metrics.clone()));
            }
        }
        let mut known: Vec<String> = by_key
            .keys()
            .map(|k| format!("{INGEST_PREFIX}{k}"))
            .collect();
        known.sort();
        let tokens = Tokens::new(&config.tokens);
        let in_flight = InFlight::new(config.body_limit);
        Self {
            inner: Arc::new(Shared {
                routes: by_key,
                known,
                openapi,
                backend,
                config,
                tokens,
                readiness,
                in_flight,
            }),
        }
    }

    fn not_found(&self, uri: &Uri) -> IngestError {
        IngestError::NotFound {
            path: uri.path().to_owned(),
            known: self.inner.known.clone(),
        }
    }
}

impl std::fmt::Debug for IngestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestState")
            .field("routes", &self.inner.known)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The ingest API as an axum router, to be served with [`serve`](super::serve): the probes
/// and the ingest routes ([`router_with`] with no other routes).
pub fn router(state: IngestState) -> Router {
    router_with(state, Router::new())
}

/// The ingest API plus `routes` (peek, metrics, pages: whatever the app serves), as one
/// router.
///
/// Every route but the probes (`/health`, `/ready`) sits behind one auth layer when tokens
/// are configured: the ingest routes, `routes`, and the fallback (so a 404 names the ingest
/// APIs only to authorized callers). A route added later is protected without its handler
/// doing anything.
///
/// Requests are traced with `tower-http`'s `TraceLayer` at its default levels, which record
/// method, path and status but no headers, so tokens never reach a log.
pub fn router_with(state: IngestState, routes: Router) -> Router {
    let tokens = state.inner.tokens.clone();
    let protected = Router::new()
        .route("/ingest/{*rest}", any(ingest))
        .route("/openapi.json", get(openapi).fallback(get_only))
        .fallback(fallback)
        .with_state(state.clone())
        .merge(routes)
        .layer(middleware::from_fn_with_state(tokens, require_token));
    Router::new()
        .route("/health", get(health).fallback(get_only))
        .route("/ready", get(ready).fallback(get_only))
        .with_state(state)
        .merge(protected)
        .layer(TraceLayer::new_for_http())
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of the ingest routes (behind the auth
/// layer, like the routes it describes).
async fn openapi(State(state): State<IngestState>) -> Response {
    axum::Json(state.inner.openapi.clone()).into_response()
}

/// `GET /health`: the process is alive.
async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// `GET /ready`: started, the stream can take writes, and every worker is alive and not
/// failing for longer than the threshold (`RuntimeConfig::unready_after`).
async fn ready(State(state): State<IngestState>) -> Result<Response, IngestError> {
    let readiness = &state.inner.readiness;
    if !readiness.is_started() {
        return Err(IngestError::NotReady { starting: true });
    }
    if !state.inner.backend.healthy().await {
        return Err(IngestError::NotReady { starting: false });
    }
    let reasons = readiness.worker_problems();
    if !reasons.is_empty() {
        return Err(IngestError::WorkersFailing { reasons });
    }
    Ok(axum::Json(json!({ "status": "ready" })).into_response())
}

/// Another method on `/health` or `/ready`.
async fn get_only(method: Method, uri: Uri) -> IngestError {
    IngestError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
        allow: "GET",
    }
}

/// Any path without a handler: 404 listing the ingest APIs (behind the auth layer, so only
/// authorized callers see the list).
async fn fallback(State(state): State<IngestState>, uri: Uri) -> IngestError {
    state.not_found(&uri)
}

/// `/ingest/...`: authenticate, find the route, read, decode and validate every record, and
/// answer 200 only once the stream holds all of them durably.
async fn ingest(State(state): State<IngestState>, request: Request) -> Response {
    let started = Instant::now();
    let entry = request
        .uri()
        .path()
        .strip_prefix(INGEST_PREFIX)
        .and_then(|key| state.inner.routes.get(key));
    let Some((route, metrics)) = entry else {
        return state.not_found(request.uri()).into_response();
    };
    let answer = match accept(&state, route, request).await {
        Ok((response, records, bytes)) => {
            if let Some(metrics) = metrics {
                metrics.records.inc_by(records as u64);
                metrics.bytes.inc_by(bytes as u64);
            }
            response
        }
        Err(error) => error.into_response(),
    };
    if let Some(metrics) = metrics {
        metrics.answered(answer.status().as_u16());
        metrics.duration.observe(started.elapsed().as_secs_f64());
    }
    answer
}

/// Reads, decodes and writes one request for `route`: the answer, the records written and
/// the body's size.
async fn accept(
    state: &IngestState,
    route: &IngestRoute,
    request: Request,
) -> Result<(Response, usize, usize), IngestError> {
    let shared = &state.inner;
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST {
        return Err(IngestError::MethodNotAllowed {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            allow: "POST",
        });
    }
    let format = body_format(&parts.headers)?;
    let _room = shared.in_flight.enter().await;
    let body = read_body(
        body,
        &parts.headers,
        shared.config.body_limit,
        shared.config.request_body_timeout,
    )
    .await?;
    let size = body.len();
    if let Some(dead_letter) = &route.dead_letter {
        let sorted =
            decode_body_sorted(&body, format, &route.codec, shared.backend.payload_format())?;
        drop(body);
        let valid = sorted.valid.len();
        let response =
            write_sorted(shared.backend.as_ref(), &route.topic, dead_letter, sorted).await?;
        return Ok((response, valid, size));
    }
    let records = decode_body(&body, format, &route.codec, shared.backend.payload_format())?;
    // The body is no longer needed while the stream writes: free it now.
    drop(body);
    if let Err(source) = shared.backend.produce(&route.topic, &records).await {
        tracing::warn!(
            topic = %route.topic,
            records = records.len(),
            error = %source,
            "ingest request refused: the stream did not confirm the records"
        );
        return Err(IngestError::StreamUnavailable { source });
    }
    let response = axum::Json(json!({ "ingested": records.len() })).into_response();
    Ok((response, records.len(), size))
}
