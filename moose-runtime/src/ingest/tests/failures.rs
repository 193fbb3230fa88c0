//! 401, 404, 405, 408, 413, 415 and 503.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;

use super::*;

#[tokio::test]
async fn tokens_are_required_when_configured() {
    let h = harness(IngestConfig {
        tokens: vec!["first-token".into(), "second-token".into()],
        ..IngestConfig::default()
    });
    let with = |auth: Option<&str>| {
        let mut request = post_json("/ingest/events", r#"{"id":"a","count":1}"#);
        if let Some(auth) = auth {
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, auth.parse().unwrap());
        }
        request
    };
    for (auth, missing) in [
        (None, true),
        (Some("Bearer wrong-token"), false),
        (Some("Bearer first-toke"), false),
        (Some("Basic Zmlyc3QtdG9rZW4="), true),
        (Some("Bearer "), true),
    ] {
        let a = send(&h, with(auth)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
        let expected = if missing {
            "has no bearer token"
        } else {
            "is not accepted"
        };
        assert!(a.error().contains(expected), "{auth:?}: {}", a.error());
        assert!(
            !a.body.to_string().contains("token\""),
            "tokens never echoed"
        );
        assert!(!a.body.to_string().contains("first-token"));
    }
    // Unknown paths do not reveal the API list without a token.
    let a = send(&h, get("/ingest/nope")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(h.backend.calls().is_empty());

    for auth in [
        "Bearer first-token",
        "bearer second-token",
        "BEARER  first-token ",
    ] {
        let a = send(&h, with(Some(auth))).await;
        assert_eq!(a.status, StatusCode::OK, "{auth}");
    }
    assert_eq!(h.backend.calls().len(), 3);
    // Probes stay open.
    assert_eq!(send(&h, get("/health")).await.status, StatusCode::OK);
    assert_eq!(send(&h, get("/ready")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_empty_configured_token_accepts_nothing() {
    let h = harness(IngestConfig {
        tokens: vec![String::new()],
        ..IngestConfig::default()
    });
    let mut request = post_json("/ingest/events", r#"{"id":"a","count":1}"#);
    request
        .headers_mut()
        .insert(header::AUTHORIZATION, "Bearer".parse().unwrap());
    assert_eq!(send(&h, request).await.status, StatusCode::UNAUTHORIZED);
}

// ---- 404 / 405 ----

#[tokio::test]
async fn unknown_api_is_404_listing_the_known_paths() {
    let h = default_harness();
    let a = send(&h, post_json("/ingest/evnets", r#"{"id":"a","count":1}"#)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.body["known"],
        json!(["/ingest/events", "/ingest/events/1.2", "/ingest/strict"])
    );
    assert!(
        a.error().contains("no ingest API at `/ingest/evnets`"),
        "{}",
        a.error()
    );
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn path_tricks_are_404() {
    let h = default_harness();
    let long = format!("/ingest/{}", "e".repeat(60_000));
    let paths = [
        "/ingest/../events",
        "/ingest/./events",
        "/ingest/events%2F1.2",
        "/ingest/events/1.2/",
        "/ingest/events/1.2/extra",
        "/ingest//events",
        "/ingest/events/",
        "/ingest/%65vents",
        "/ingest/",
        "/ingest",
        "/events",
        "/",
        long.as_str(),
    ];
    for path in paths {
        let a = send(&h, post_json(path, r#"{"id":"a","count":1}"#)).await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{}",
            &path[..path.len().min(40)]
        );
        assert!(a.error().len() < 1000, "long paths are not echoed in full");
    }
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn other_methods_on_a_known_api_are_405_with_allow_post() {
    let h = default_harness();
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri("/ingest/events/1.2")
            .body(Body::empty())
            .unwrap();
        let a = send(&h, request).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(a.headers[header::ALLOW], "POST");
        assert!(a.error().contains("use POST"), "{}", a.error());
    }
    let a = send(&h, Request::post("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::ALLOW], "GET");
    // Unknown paths stay 404 whatever the method.
    assert_eq!(
        send(&h, get("/ingest/nope")).await.status,
        StatusCode::NOT_FOUND
    );
}

// ---- 408 / 413 / 415 ----

#[tokio::test]
async fn a_stalled_body_is_408_after_the_timeout() {
    let h = harness(IngestConfig {
        request_body_timeout: Duration::from_millis(100),
        ..IngestConfig::default()
    });
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"[{\"id\""))])
        .chain(futures::stream::pending());
    let a = send(
        &h,
        post(
            "/ingest/events",
            "application/json",
            Body::from_stream(stream),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::REQUEST_TIMEOUT);
    assert!(
        a.error().contains("did not arrive within 0.1 s"),
        "{}",
        a.error()
    );
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_naming_the_setting() {
    let h = harness(IngestConfig {
        body_limit: 64,
        ..IngestConfig::default()
    });
    let records = format!("[{}]", [r#"{"id":"a","count":1}"#; 10].join(","));
    // Known length (refused before reading) and streamed without a length.
    let stream = futures::stream::iter(
        [records.clone(), records.clone()].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
    );
    for body in [Body::from(records.clone()), Body::from_stream(stream)] {
        let a = send(&h, post("/ingest/events", "application/json", body)).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(a.body["limit_bytes"], 64);
        assert!(a.error().contains("limit of 64 bytes"), "{}", a.error());
        assert!(
            a.error().contains("MOOSE_INGEST_BODY_LIMIT"),
            "{}",
            a.error()
        );
    }
    // Exactly at the limit is fine.
    let record = r#"{"id":"a","count":1}"#;
    let at_limit = format!("{record}{}", " ".repeat(64 - record.len()));
    assert_eq!(at_limit.len(), 64);
    let a = send(&h, post_json("/ingest/events", &at_limit)).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn other_or_missing_content_types_are_415_naming_the_accepted_ones() {
    let h = default_harness();
    let body = r#"{"id":"a","count":1}"#;
    let missing = Request::post("/ingest/events")
        .body(Body::from(body))
        .unwrap();
    let a = send(&h, missing).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.error().contains("no Content-Type"), "{}", a.error());
    for content_type in [
        "text/plain",
        "application/xml",
        "application/jsonx",
        "application/json; charset=latin1",
    ] {
        let a = send(&h, post("/ingest/events", content_type, body)).await;
        assert_eq!(
            a.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(
            a.body["accepted"],
            json!(["application/json", "application/x-ndjson"])
        );
        assert!(a.error().contains("application/x-ndjson"), "{}", a.error());
    }
    assert!(h.backend.calls().is_empty());
}

// ---- 503 ----

#[tokio::test]
async fn a_failed_produce_is_503_with_retry_after() {
    let h = default_harness();
    let cases: [(fn() -> StreamError, bool); 2] = [
        (|| StreamError::Unavailable("broker down".into()), true),
        (|| StreamError::Other("disk on fire".into()), false),
    ];
    for (error, retryable) in cases {
        *h.backend.fail.lock().unwrap() = Some(error);
        let a = send(&h, post_json("/ingest/events", r#"[{"id":"a","count":1}]"#)).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            a.headers[header::RETRY_AFTER],
            RETRY_AFTER_SECONDS.to_string().as_str()
        );
        assert_eq!(a.body["retryable"], retryable);
        assert!(a.error().contains("stream is unavailable"), "{}", a.error());
        assert!(a.error().contains("retry"), "{}", a.error());
    }
    assert!(h.backend.calls().is_empty());
    *h.backend.fail.lock().unwrap() = None;
    let a = send(&h, post_json("/ingest/events", r#"[{"id":"a","count":1}]"#)).await;
    assert_eq!(a.status, StatusCode::OK);
}
