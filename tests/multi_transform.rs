//! Multi-transforms end to end, on the embedded log and on Apache Kafka, with a real
//! ClickHouse: one function routes each order to the table of its kind (or to both, or to
//! none), and every order lands by key exactly where it was routed; a record routed to a
//! stream the multi-transform did not declare goes to the dead-letter queue, and nothing of
//! it (not even its other outputs) is written.

mod common;
#[path = "common/seed.rs"]
mod seed;

use common::app::post_json;
use common::clickhouse::TestClickHouse;
use moose::prelude::*;
use seed::{Backend, wait_rows};
use serde_json::{Value, json};

#[data_model]
#[derive(Debug, Clone)]
pub struct Order {
    #[key]
    pub id: String,
    pub amount: i32,
}

#[data_model]
#[derive(Debug)]
pub struct Accepted {
    #[key]
    pub id: String,
    pub amount: i32,
}

#[data_model]
#[derive(Debug)]
pub struct Refund {
    #[key]
    pub id: String,
    pub refunded: i32,
}

/// Positive orders are accepted, negative ones refunds, amounts divisible by 100 are both
/// (an audit copy), zero goes nowhere.
fn route(order: Order, (accepted, refunds): &(Stream<Accepted>, Stream<Refund>)) -> Vec<Routed> {
    let mut out = Vec::new();
    if order.amount > 0 {
        out.push(accepted.routed(Accepted {
            id: order.id.clone(),
            amount: order.amount,
        }));
    }
    if order.amount < 0 || (order.amount != 0 && order.amount % 100 == 0) {
        out.push(refunds.routed(Refund {
            id: order.id,
            refunded: order.amount.abs(),
        }));
    }
    out
}

fn app() -> App {
    pipeline! {
        orders: IngestPipeline<Order> { ingest: true, stream: true },
        accepted: IngestPipeline<Accepted> { stream: true, table: true },
        refunds: IngestPipeline<Refund> { stream: true, table: true },
        orders => multi_transform(route) => [accepted, refunds],
    }
}

fn sorted(rows: Vec<Value>) -> Vec<Value> {
    let mut rows = rows;
    rows.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    rows
}

async fn routed_records_land_in_their_tables_by_key(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let app = app();
    let topology = moose::topology::Topology::resolve(
        &app.graph(),
        None,
        "local",
        &moose::ClickHouseCapabilities::MODERN,
    )
    .unwrap();
    let task = &topology.transforms[0];
    assert_eq!(task.label, "orders->[accepted,refunds]");
    assert_eq!(task.group, "moose.transform.orders.accepted+refunds");
    let runtime = deployment.start(&app).await;
    let amounts = [5, -7, 0, 200, 3, -100, 0, 42];
    let body: Vec<Value> = amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| json!({"id": format!("o{i}"), "amount": amount}))
        .collect();
    let client = reqwest::Client::new();
    let addr = runtime.http_addr().expect("the runtime serves HTTP");
    let (status, answer) = post_json(
        &client,
        addr,
        "/ingest/orders",
        Value::Array(body).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let accepted = wait_rows(&ch, "SELECT id, amount FROM local.accepted", 4).await;
    let refunds = wait_rows(&ch, "SELECT id, refunded FROM local.refunds", 3).await;
    assert_eq!(
        sorted(accepted),
        [
            json!({"id": "o0", "amount": 5}),
            json!({"id": "o3", "amount": 200}),
            json!({"id": "o4", "amount": 3}),
            json!({"id": "o7", "amount": 42}),
        ]
    );
    assert_eq!(
        sorted(refunds),
        [
            json!({"id": "o1", "refunded": 7}),
            json!({"id": "o3", "refunded": 200}),
            json!({"id": "o5", "refunded": 100}),
        ]
    );
    assert_eq!(runtime.failures().dead_lettered, 0);
    assert_eq!(runtime.failures().skipped, 0);
    runtime.shutdown().await;
}

#[tokio::test]
async fn routed_records_land_in_their_tables_by_key_on_the_embedded_log() {
    routed_records_land_in_their_tables_by_key(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_records_land_in_their_tables_by_key_on_kafka() {
    routed_records_land_in_their_tables_by_key(Backend::Kafka).await;
}

/// The builder: a closure routes with handles it captured, one of them not declared as a
/// destination. Records routed there are dead letters naming the stream; their other
/// outputs are not written; the rest land.
async fn a_record_routed_to_an_undeclared_stream_is_dead_lettered(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let app = App::new();
    let orders = app
        .ingest_pipeline::<Order>(
            "orders",
            IngestPipelineConfig::new()
                .ingest(true)
                .stream(true)
                .dead_letter_queue(true),
        )
        .unwrap();
    let table = IngestPipelineConfig::new().stream(true).table(true);
    let accepted = app
        .ingest_pipeline::<Accepted>("accepted", table.clone())
        .unwrap();
    let refunds = app.ingest_pipeline::<Refund>("refunds", table).unwrap();
    let undeclared = refunds.stream().unwrap().clone();
    orders
        .stream()
        .unwrap()
        .add_multi_transform(
            [accepted.stream().unwrap().clone()],
            move |order: Order, [accepted]: &[Stream<Accepted>; 1]| {
                let mut out = vec![accepted.routed(Accepted {
                    id: order.id.clone(),
                    amount: order.amount,
                })];
                if order.amount < 0 {
                    out.push(undeclared.routed(Refund {
                        id: order.id,
                        refunded: -order.amount,
                    }));
                }
                out
            },
        )
        .unwrap();
    let runtime = deployment.start(&app).await;
    let body = json!([
        {"id": "a", "amount": 1},
        {"id": "b", "amount": -2},
        {"id": "c", "amount": 3},
    ]);
    let client = reqwest::Client::new();
    let addr = runtime.http_addr().expect("the runtime serves HTTP");
    let (status, answer) = post_json(&client, addr, "/ingest/orders", body.to_string()).await;
    assert_eq!(status, 200, "{answer}");

    // The pipeline's dead-letter queue is its stream's default, so the multi-transform uses it.
    let letters = wait_rows(
        &ch,
        "SELECT source, error_kind, error_message, original_record FROM local.orders_dead_letter",
        1,
    )
    .await;
    let accepted = wait_rows(&ch, "SELECT id FROM local.accepted ORDER BY id", 2).await;
    assert_eq!(accepted, [json!({"id": "a"}), json!({"id": "c"})]);
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0]["source"], "transform");
    assert_eq!(letters[0]["error_kind"], "error");
    let message = letters[0]["error_message"].as_str().unwrap();
    assert!(
        message.contains("`refunds`") && message.contains("not one of its destinations"),
        "{message}"
    );
    let original: Value =
        serde_json::from_str(letters[0]["original_record"].as_str().unwrap()).unwrap();
    assert_eq!(original, json!({"id": "b", "amount": -2}));
    let refunds = ch
        .client
        .query_json("SELECT id FROM local.refunds")
        .await
        .unwrap();
    assert!(refunds.is_empty(), "{refunds:?}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_record_routed_to_an_undeclared_stream_is_dead_lettered_on_the_embedded_log() {
    a_record_routed_to_an_undeclared_stream_is_dead_lettered(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_routed_to_an_undeclared_stream_is_dead_lettered_on_kafka() {
    a_record_routed_to_an_undeclared_stream_is_dead_lettered(Backend::Kafka).await;
}
