//! Publishing from code (`Stream::send`) on both stream backends, against a real ClickHouse
//! (Debian's 18.16): the embedded log and a one-node Apache Kafka 4.4.
//!
//! One scenario per backend, as a user meets it: a send before `Runtime::start` is refused
//! as not running; an invalid batch is refused whole, naming each bad record, and leaves the
//! stream untouched; records sent from test code reach a consumer that publishes each one
//! to a second stream with `send`, and every one lands in that stream's table; after
//! `Runtime::shutdown` a send is refused as not running again. Plus a stream declared after
//! the start, and a send from an embedding program's own axum handler.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::clickhouse::TestClickHouse;
use moose::SendError;
use moose::prelude::*;
use seed::{Backend, as_f64};

#[data_model]
#[derive(Debug, Clone)]
pub struct Order {
    #[key]
    pub id: String,
    pub amount: f64,
}

#[data_model]
#[derive(Debug, Clone)]
pub struct Audit {
    #[key]
    pub id: String,
    pub amount: f64,
    pub doubled: f64,
}

/// Deadlock guard for loops that wait for rows; never reached when it works.
const GUARD: Duration = Duration::from_secs(90);

/// Records sent in the scenario.
const ORDERS: usize = 2_000;

/// `orders` (a stream, no table) with a consumer that publishes an `Audit` for every order
/// to `audits` (a stream with a table) through `Stream::send`.
fn app() -> (App, Stream<Order>, Stream<Audit>) {
    let app = App::new();
    let orders = app
        .ingest_pipeline::<Order>(
            "orders",
            IngestPipelineConfig::new().ingest(true).stream(true),
        )
        .unwrap()
        .stream
        .unwrap();
    let audits = app
        .ingest_pipeline::<Audit>(
            "audits",
            IngestPipelineConfig::new().stream(true).table(true),
        )
        .unwrap()
        .stream
        .unwrap();
    let to = audits.clone();
    orders
        .add_consumer(move |order: Order| {
            let to = to.clone();
            async move {
                to.send_one(Audit {
                    doubled: order.amount * 2.0,
                    id: order.id,
                    amount: order.amount,
                })
                .await
            }
        })
        .unwrap();
    (app, orders, audits)
}

fn order(i: usize) -> Order {
    Order {
        id: format!("o{i:05}"),
        amount: i as f64 + 0.25,
    }
}

async fn scenario(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let (app, orders, audits) = app();

    // Before the start: refused, typed, naming the stream.
    let early = orders.send_one(order(0)).await.unwrap_err();
    assert!(
        matches!(&early, SendError::NotRunning { stream } if stream == "orders"),
        "{early:?}"
    );
    assert!(early.to_string().contains("not running"), "{early}");

    let runtime = deployment.start(&app).await;
    let topic = runtime
        .topology
        .stream_named("orders")
        .unwrap()
        .spec
        .name
        .clone();

    // An invalid batch: refused whole, every bad record named by index and path.
    let mut batch: Vec<Order> = (0..5).map(|i| order(90_000 + i)).collect();
    batch[1].amount = f64::NAN;
    batch[4].amount = f64::INFINITY;
    let refused = orders.send(batch).await.unwrap_err();
    let SendError::InvalidRecords {
        stream,
        received,
        records,
        ..
    } = &refused
    else {
        panic!("expected InvalidRecords, got {refused:?}");
    };
    assert_eq!((stream.as_str(), *received), ("orders", 5));
    let named: Vec<(usize, &str)> = records.iter().map(|r| (r.index, r.path.as_str())).collect();
    assert_eq!(named, [(1, ".amount"), (4, ".amount")], "{refused}");
    assert!(
        refused.to_string().contains("nothing was written"),
        "{refused}"
    );

    // Sends from code (a clone, as a background task would hold), in batches.
    let sender = orders.clone();
    let all: Vec<Order> = (0..ORDERS).map(order).collect();
    for chunk in all.chunks(500) {
        sender
            .send(chunk.to_vec())
            .await
            .expect("the stream takes valid records");
    }

    // Every order comes back from the consumer's `send` as an audit row, once.
    let start = Instant::now();
    let rows = loop {
        let rows = ch
            .client
            .query_json("SELECT id, amount, doubled FROM local.audits ORDER BY id")
            .await
            .unwrap_or_default();
        if rows.len() >= ORDERS || start.elapsed() > GUARD {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ids: BTreeSet<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = all.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, expected, "every order sent is audited");
    assert_eq!(rows.len(), ORDERS, "and none twice");
    for row in &rows {
        assert_eq!(
            as_f64(&row["doubled"]),
            as_f64(&row["amount"]) * 2.0,
            "{row}"
        );
    }
    assert_eq!(
        runtime.failures(),
        Default::default(),
        "no consumer send failed"
    );

    // The refused batch never reached the stream: it holds exactly the orders sent.
    let stored = runtime.backend.latest(&topic, ORDERS * 2).await.unwrap();
    assert_eq!(
        stored.len(),
        ORDERS,
        "only the valid sends are in `{topic}`"
    );
    assert!(
        stored
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.payload).contains("o9000")),
        "no record of the refused batch is in the stream"
    );

    runtime.shutdown().await;

    // After the shutdown: refused again, for both streams.
    for error in [
        orders.send_one(order(1)).await.unwrap_err(),
        audits
            .send_one(Audit {
                id: "late".into(),
                amount: 1.0,
                doubled: 2.0,
            })
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(error, SendError::NotRunning { .. }), "{error:?}");
        assert!(error.is_retryable());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_on_the_embedded_log() {
    scenario(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_on_kafka() {
    scenario(Backend::Kafka).await;
}

/// A stream declared after the start has no topic: a typed refusal, not a panic, and the
/// running app's other streams keep working.
#[tokio::test]
async fn a_stream_declared_after_the_start_is_refused() {
    let ch = TestClickHouse::start().await;
    let deployment = Backend::Embedded.deploy(&ch);
    let (app, orders, _) = app();
    let runtime = deployment.start(&app).await;
    let late = app
        .stream::<Order>("late_orders", StreamConfig::default())
        .unwrap();
    let error = late.send_one(order(0)).await.unwrap_err();
    assert!(
        matches!(&error, SendError::DeclaredAfterStart { stream } if stream == "late_orders"),
        "{error:?}"
    );
    orders
        .send_one(order(0))
        .await
        .expect("`orders` still takes records");
    runtime.shutdown().await;
}

/// An embedding program's own axum handler publishes with a `Stream` it captured; the record
/// goes through the consumer's `send` into the table like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_http_handler_sends() {
    let ch = TestClickHouse::start().await;
    let mut deployment = Backend::Embedded.deploy(&ch);
    deployment.config.serve_http = false;
    let (app, orders, _) = app();
    let runtime = deployment.start(&app).await;
    let handler = {
        let orders = orders.clone();
        move |axum::extract::Path(id): axum::extract::Path<String>| {
            let orders = orders.clone();
            async move {
                match orders.send_one(Order { id, amount: 21.0 }).await {
                    Ok(()) => (axum::http::StatusCode::OK, "sent".to_owned()),
                    Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
                }
            }
        }
    };
    let router = axum::Router::new()
        .route("/orders/{id}", axum::routing::post(handler))
        .merge(runtime.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/orders/from-handler"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let rows = seed::wait_rows(
        &ch,
        "SELECT id, doubled FROM local.audits WHERE id = 'from-handler'",
        1,
    )
    .await;
    assert_eq!(rows.len(), 1, "the handler's record was audited");
    assert_eq!(as_f64(&rows[0]["doubled"]), 42.0);
    server.abort();
    runtime.shutdown().await;
}

/// With the only broker down, `send` does not hang and does not claim success: a retryable
/// `Unavailable` naming the stream; once the broker is back, sending again lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_while_the_broker_is_down_is_unavailable_and_a_retry_lands() {
    let ch = TestClickHouse::start().await;
    let mut deployment = Backend::Kafka.deploy(&ch);
    let (app, orders, _) = app();
    let runtime = deployment.start(&app).await;
    let broker = deployment
        .broker
        .as_mut()
        .expect("a Kafka deployment has a broker");

    broker.stop();
    let error = orders.send_one(order(7)).await.unwrap_err();
    assert!(
        matches!(&error, SendError::Unavailable { stream, .. } if stream == "orders"),
        "{error:?}"
    );
    assert!(error.is_retryable(), "{error}");

    broker.restart();
    let start = Instant::now();
    loop {
        match orders.send_one(order(7)).await {
            Ok(()) => break,
            Err(e) if e.is_retryable() && start.elapsed() < GUARD => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Err(e) => panic!("the broker is back but send still fails: {e}"),
        }
    }
    let rows = seed::wait_rows(&ch, "SELECT id FROM local.audits WHERE id = 'o00007'", 1).await;
    assert!(!rows.is_empty(), "the retried record was audited");
    runtime.shutdown().await;
}
