//! Router tests against an in-memory stream backend: a harness here, the cases by outcome
//! in the files below.

mod accepted;
mod extra_fields;
mod failures;
mod probes;
mod refused;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::graph::{BoxFuture, EncodedRecord, ModelCodec};
use crate::schema::{Column, ColumnType, ColumnValue, DataModel, EncodeError, FieldOptions};
use crate::stream::{ConsumedRecord, MemberId, StreamBackend, StreamConsumer, StreamError};

#[derive(Serialize, Deserialize)]
struct Event {
    id: String,
    count: u32,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    source: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    id: String,
}

/// A hand-written `DataModel` keyed by its `id` field.
macro_rules! model {
    ($model:ident) => {
        impl ColumnValue for $model {
            fn column_type(_: &FieldOptions) -> ColumnType {
                ColumnType::String
            }
            fn write_row_binary(&self, _: &ColumnType, _: &mut Vec<u8>) -> Result<(), EncodeError> {
                Ok(())
            }
        }
        impl DataModel for $model {
            const NAME: &'static str = stringify!($model);
            const COLUMN_NAMES: &'static [&'static str] = &["id"];
            const KEY_NAMES: &'static [&'static str] = &["id"];
            fn columns() -> Vec<Column> {
                Vec::new()
            }
            fn write_row(&self, _: &[ColumnType], _: &mut Vec<u8>) -> Result<(), EncodeError> {
                Ok(())
            }
            fn message_key(&self) -> Vec<u8> {
                self.id.as_bytes().to_vec()
            }
        }
    };
}
model!(Event);
model!(Strict);

/// Records every `produce` call; fails them while `fail` holds an error maker.
#[derive(Default)]
struct FakeBackend {
    produced: Mutex<Vec<(String, Vec<EncodedRecord>)>>,
    fail: Mutex<Option<fn() -> StreamError>>,
    unhealthy: AtomicBool,
}

impl FakeBackend {
    fn calls(&self) -> Vec<(String, Vec<EncodedRecord>)> {
        self.produced.lock().unwrap().clone()
    }
}

impl StreamBackend for FakeBackend {
    fn max_record_bytes(&self) -> usize {
        usize::MAX
    }

    fn payload_format(&self) -> crate::schema::PayloadFormat {
        crate::schema::PayloadFormat::Json
    }
    fn produce<'a>(
        &'a self,
        topic: &'a str,
        records: &'a [EncodedRecord],
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(async move {
            if let Some(error) = *self.fail.lock().unwrap() {
                return Err(error());
            }
            self.produced
                .lock()
                .unwrap()
                .push((topic.to_owned(), records.to_vec()));
            Ok(())
        })
    }
    fn lag<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::stream::PartitionLag>, StreamError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn consumer<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: MemberId,
    ) -> BoxFuture<'a, Result<Box<dyn StreamConsumer>, StreamError>> {
        Box::pin(async { Err(StreamError::Other("not in the fake".into())) })
    }
    fn latest<'a>(
        &'a self,
        _: &'a str,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { !self.unhealthy.load(Ordering::SeqCst) })
    }
}

struct Harness {
    router: Router,
    backend: Arc<FakeBackend>,
    ready: Arc<crate::worker::Readiness>,
}

fn harness(config: IngestConfig) -> Harness {
    let route = |name: &str, version: Option<&str>, topic: &str, codec| IngestRoute {
        name: name.into(),
        version: version.map(Into::into),
        paths: vec![
            crate::topology::names::ingest_path(name, version)["/ingest/".len()..].to_owned(),
        ],
        topic: topic.into(),
        codec,
        dead_letter: None,
    };
    let routes = vec![
        route("events", None, "ns_events", ModelCodec::of::<Event>()),
        route(
            "events",
            Some("1.2"),
            "ns_events_1_2",
            ModelCodec::of::<Event>(),
        ),
        route("strict", None, "ns_strict", ModelCodec::of::<Strict>()),
    ];
    let backend = Arc::new(FakeBackend::default());
    let ready = Arc::new(crate::worker::Readiness::always());
    let state = IngestState::new(routes, backend.clone(), config, ready.clone(), None);
    Harness {
        router: router(state),
        backend,
        ready,
    }
}

fn default_harness() -> Harness {
    harness(IngestConfig::default())
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no `error` sentence in {}", self.body))
    }
}

async fn send(h: &Harness, request: Request<Body>) -> Answer {
    let response = h.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {bytes:?}"));
    Answer {
        status,
        headers,
        body,
    }
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

fn post_json(path: &str, body: &str) -> Request<Body> {
    post(path, "application/json", body.to_owned())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn payloads(records: &[EncodedRecord]) -> Vec<Value> {
    records
        .iter()
        .map(|r| serde_json::from_slice(&r.payload).unwrap())
        .collect()
}
