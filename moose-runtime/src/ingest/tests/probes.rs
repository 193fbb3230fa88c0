//! `/health` and `/ready`.

use std::sync::atomic::Ordering;

use axum::http::{StatusCode, header};
use serde_json::json;

use super::*;

#[tokio::test]
async fn health_is_ok_while_the_process_lives() {
    let h = default_harness();
    h.ready.set_started(false);
    h.backend.unhealthy.store(true, Ordering::SeqCst);
    let a = send(&h, get("/health")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn ready_needs_the_flag_and_a_healthy_stream() {
    let h = default_harness();
    let a = send(&h, get("/ready")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "status": "ready" }));

    h.ready.set_started(false);
    let a = send(&h, get("/ready")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.error().contains("still starting"), "{}", a.error());

    h.ready.set_started(true);
    h.backend.unhealthy.store(true, Ordering::SeqCst);
    let a = send(&h, get("/ready")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.error().contains("cannot take writes"), "{}", a.error());
    assert!(a.headers.contains_key(header::RETRY_AFTER));
}
