//! `GET /peek/<stream|table>?n=N`: the latest records of a stream or rows of a table, served
//! by the running app so `peek` works while it holds the data dir.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::clickhouse::ClickHouse;
use crate::stream::StreamBackend;
use crate::topology::Topology;

/// What `peek` can see.
#[derive(Clone)]
pub struct PeekState {
    /// The stream backend.
    pub backend: Arc<dyn StreamBackend>,
    /// ClickHouse.
    pub clickhouse: ClickHouse,
    /// `(declared name, topic)`.
    pub streams: Vec<(String, String)>,
    /// `(declared name, qualified table)`.
    pub tables: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
struct PeekQuery {
    n: Option<usize>,
}

impl PeekState {
    /// What `peek` can see of `topology`.
    pub fn new(
        topology: &Topology,
        backend: Arc<dyn StreamBackend>,
        clickhouse: ClickHouse,
    ) -> Self {
        let resources = &topology.resources;
        Self {
            backend,
            clickhouse,
            streams: resources
                .topics
                .iter()
                .map(|t| (t.declared.clone(), t.spec.name.clone()))
                .collect(),
            tables: resources
                .tables
                .iter()
                .map(|t| (t.declared.clone(), t.resolved.qualified_name()))
                .collect(),
        }
    }
}

/// Rows `peek` returns unless asked otherwise.
const DEFAULT_PEEK_ROWS: usize = 10;
/// Most rows `peek` returns, so a typo cannot dump a whole table.
const MAX_PEEK_ROWS: usize = 10_000;

/// The peek route.
pub fn peek_router(state: PeekState) -> Router {
    Router::new()
        .route("/peek/{name}", get(peek))
        .with_state(state)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn peek(
    State(state): State<PeekState>,
    Path(name): Path<String>,
    query: Result<Query<PeekQuery>, QueryRejection>,
) -> Response {
    // axum's own rejection is plain text; every answer of this server is JSON.
    let q = match query {
        Ok(Query(q)) => q,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}; `n` is how many rows to show, a whole number (at most {MAX_PEEK_ROWS})",
                    rejection.body_text()
                ),
            );
        }
    };
    let n = q.n.unwrap_or(DEFAULT_PEEK_ROWS).min(MAX_PEEK_ROWS);
    if let Some((_, table)) = state.tables.iter().find(|(declared, _)| *declared == name) {
        return match state
            .clickhouse
            .query_json(&format!("SELECT * FROM {table} LIMIT {n}"))
            .await
        {
            Ok(rows) => Json(serde_json::json!({ "table": name, "rows": rows })).into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
    }
    if let Some((_, topic)) = state.streams.iter().find(|(declared, _)| *declared == name) {
        return match state.backend.latest(topic, n).await {
            Ok(records) => {
                let records: Vec<serde_json::Value> = records
                    .iter()
                    .map(|r| serde_json::from_slice(&r.payload).unwrap_or(serde_json::Value::Null))
                    .collect();
                Json(serde_json::json!({ "stream": name, "records": records })).into_response()
            }
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
    }
    let known: Vec<&str> = state
        .streams
        .iter()
        .chain(&state.tables)
        .map(|(n, _)| n.as_str())
        .collect();
    error(
        StatusCode::NOT_FOUND,
        format!(
            "`{name}` is neither a stream nor a table of this app; known: {}",
            known.join(", ")
        ),
    )
}
