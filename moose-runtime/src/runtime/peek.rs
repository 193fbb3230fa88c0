//! `GET /peek/<stream|table>?n=N`: the latest records of a stream or rows of a table, served
//! by the running app so `peek` works while it holds the data dir.
//!
//! Timestamps read the same in both: a table's `DateTime`/`DateTime64` values, which
//! ClickHouse prints as `2026-11-24 18:59:27.123`, are shown in the RFC 3339 form streams
//! carry, `2026-11-24T18:59:27.123Z`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::clickhouse::ClickHouse;
use crate::graph::ModelCodec;
use crate::schema::ColumnType;
use crate::schema::value::timestamp;
use crate::stream::StreamBackend;
use crate::topology::Topology;

/// What `peek` can see.
#[derive(Clone)]
pub struct PeekState {
    /// The stream backend.
    pub backend: Arc<dyn StreamBackend>,
    /// ClickHouse.
    pub clickhouse: ClickHouse,
    /// `(declared name, topic, model)`: the model shows binary payloads as JSON.
    pub streams: Vec<(String, String, ModelCodec)>,
    /// `(declared name, qualified table)`.
    pub tables: Vec<(String, String)>,
    /// Each table's columns and their physical types, as `tables` orders them.
    pub columns: Vec<Vec<(String, ColumnType)>>,
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
                .map(|t| (t.declared.clone(), t.spec.name.clone(), t.codec))
                .collect(),
            tables: resources
                .tables
                .iter()
                .map(|t| (t.declared.clone(), t.resolved.qualified_name()))
                .collect(),
            columns: resources
                .tables
                .iter()
                .map(|t| {
                    t.resolved
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), c.ty.clone()))
                        .collect()
                })
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
    if let Some(index) = state
        .tables
        .iter()
        .position(|(declared, _)| *declared == name)
    {
        let table = &state.tables[index].1;
        let columns = state
            .columns
            .get(index)
            .map(Vec::as_slice)
            .unwrap_or_default();
        return match state
            .clickhouse
            .query_json(&format!("SELECT * FROM {table} LIMIT {n}"))
            .await
        {
            Ok(mut rows) => {
                for row in &mut rows {
                    rfc3339_row(row, columns);
                }
                Json(serde_json::json!({ "table": name, "rows": rows })).into_response()
            }
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
    }
    if let Some((_, topic, codec)) = state
        .streams
        .iter()
        .find(|(declared, _, _)| *declared == name)
    {
        return match state.backend.latest(topic, n).await {
            Ok(records) => {
                let records: Vec<serde_json::Value> = records
                    .iter()
                    .map(|r| {
                        (codec.payload_json)(&r.payload)
                            .ok()
                            .and_then(|json| serde_json::from_slice(&json).ok())
                            .unwrap_or(serde_json::Value::Null)
                    })
                    .collect();
                Json(serde_json::json!({ "stream": name, "records": records })).into_response()
            }
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
    }
    let known: Vec<&str> = state
        .streams
        .iter()
        .map(|(n, _, _)| n.as_str())
        .chain(state.tables.iter().map(|(n, _)| n.as_str()))
        .collect();
    error(
        StatusCode::NOT_FOUND,
        format!(
            "`{name}` is neither a stream nor a table of this app; known: {}",
            known.join(", ")
        ),
    )
}

/// Rewrites the timestamp columns of one `JSONEachRow` row in RFC 3339.
fn rfc3339_row(row: &mut serde_json::Value, columns: &[(String, ColumnType)]) {
    for (name, ty) in columns {
        if let Some(value) = row.get_mut(name) {
            rfc3339_value(value, ty);
        }
    }
}

/// Rewrites ClickHouse's timestamp text in `value`, of physical type `ty`, as RFC 3339 with
/// the column's digits; values inside arrays, tuples, maps and nullables too.
fn rfc3339_value(value: &mut serde_json::Value, ty: &ColumnType) {
    use serde_json::Value;
    // A `column_type = "..."` of the user's own may name another time zone: shown as stored.
    if matches!(ty, ColumnType::Custom { .. }) {
        return;
    }
    let digits = match ty.physical() {
        ColumnType::DateTime => 0,
        ColumnType::DateTime64 { precision } => *precision,
        ColumnType::Nullable(inner) => return rfc3339_value(value, inner),
        ColumnType::Array(inner) => {
            if let Value::Array(items) = value {
                items.iter_mut().for_each(|item| rfc3339_value(item, inner));
            }
            return;
        }
        ColumnType::Map(_, inner) => {
            if let Value::Object(entries) = value {
                entries
                    .values_mut()
                    .for_each(|item| rfc3339_value(item, inner));
            }
            return;
        }
        // Named tuples print as objects on modern servers, tuples as arrays on old ones.
        ColumnType::Tuple(fields) => {
            match value {
                Value::Array(items) => {
                    for (item, (_, field)) in items.iter_mut().zip(fields) {
                        rfc3339_value(item, field);
                    }
                }
                Value::Object(entries) => {
                    for (name, field) in fields {
                        if let Some(item) = entries.get_mut(name) {
                            rfc3339_value(item, field);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        _ => return,
    };
    if let Value::String(text) = value
        && let Some(at) = timestamp::parse(text.as_bytes())
    {
        *text = timestamp::with_rfc3339(at, digits, str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn table_timestamps_print_as_streams_carry_them() {
        let columns = vec![
            ("id".to_owned(), ColumnType::String),
            ("at".to_owned(), ColumnType::DateTime64 { precision: 3 }),
            ("old".to_owned(), ColumnType::DateTime),
            (
                "maybe".to_owned(),
                ColumnType::Nullable(Box::new(ColumnType::DateTime64 { precision: 6 })),
            ),
            (
                "history".to_owned(),
                ColumnType::Array(Box::new(ColumnType::Tuple(vec![
                    ("city".to_owned(), ColumnType::String),
                    ("since".to_owned(), ColumnType::DateTime64 { precision: 9 }),
                ]))),
            ),
        ];
        let mut row = json!({
            "id": "2013-01-01 21:00:00",
            "at": "2013-01-01 21:00:00.120",
            "old": "2013-01-01 21:00:00",
            "maybe": null,
            "history": [
                ["Oslo", "2013-01-01 21:00:00.000000001"],
                {"city": "Rome", "since": "1969-12-31 23:59:59.999999999"}
            ]
        });
        rfc3339_row(&mut row, &columns);
        assert_eq!(
            row,
            json!({
                "id": "2013-01-01 21:00:00",
                "at": "2013-01-01T21:00:00.120Z",
                "old": "2013-01-01T21:00:00Z",
                "maybe": null,
                "history": [
                    ["Oslo", "2013-01-01T21:00:00.000000001Z"],
                    {"city": "Rome", "since": "1969-12-31T23:59:59.999999999Z"}
                ]
            })
        );
        let mut present = json!({"maybe": "2013-01-01 21:00:00.000001"});
        rfc3339_row(&mut present, &columns);
        assert_eq!(present, json!({"maybe": "2013-01-01T21:00:00.000001Z"}));
    }
}
