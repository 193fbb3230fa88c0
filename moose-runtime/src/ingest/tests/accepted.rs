//! 200: records written, in one produce call.

use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::json;

use super::*;

#[tokio::test]
async fn single_object_is_written_then_answered_200() {
    let h = default_harness();
    let a = send(&h, post_json("/ingest/events", r#"{"id":"a","count":1}"#)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "ingested": 1 }));
    let calls = h.backend.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "ns_events");
    assert_eq!(calls[0].1[0].key, b"a");
    assert_eq!(
        payloads(&calls[0].1),
        [json!({"id":"a","count":1,"tags":[],"meta":null})]
    );
}

#[tokio::test]
async fn a_leading_byte_order_mark_is_ignored() {
    let h = default_harness();
    for (content_type, body) in [
        ("application/json", "\u{feff}{\"id\":\"a\",\"count\":1}"),
        ("application/json", "\u{feff}[{\"id\":\"b\",\"count\":1}]"),
        (
            "application/x-ndjson",
            "\u{feff}{\"id\":\"c\",\"count\":1}\n",
        ),
    ] {
        let a = send(&h, post("/ingest/events", content_type, body)).await;
        assert_eq!(a.status, StatusCode::OK, "{content_type}: {}", a.body);
    }
    assert_eq!(h.backend.calls().len(), 3);
}

#[tokio::test]
async fn array_is_written_in_one_produce_call() {
    let h = default_harness();
    let body =
        r#" [{"id":"a","count":1}, {"id":"b","count":2,"tags":["x"]}, {"id":"c","count":3}] "#;
    let a = send(&h, post_json("/ingest/events", body)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "ingested": 3 }));
    let calls = h.backend.calls();
    assert_eq!(calls.len(), 1, "one request, one produce call");
    let keys: Vec<_> = calls[0].1.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[tokio::test]
async fn versioned_route_writes_to_its_own_topic() {
    let h = default_harness();
    let a = send(
        &h,
        post_json("/ingest/events/1.2", r#"{"id":"a","count":1}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(h.backend.calls()[0].0, "ns_events_1_2");
}

#[tokio::test]
async fn ndjson_is_read_line_by_line_and_blank_lines_are_ignored() {
    let h = default_harness();
    let body = "{\"id\":\"a\",\"count\":1}\n\n{\"id\":\"b\",\"count\":2}\r\n   \n{\"id\":\"c\",\"count\":3}\n";
    let a = send(&h, post("/ingest/events", "application/x-ndjson", body)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "ingested": 3 }));
    assert_eq!(h.backend.calls()[0].1.len(), 3);
}

#[tokio::test]
async fn content_type_parameters_and_case_are_accepted() {
    let h = default_harness();
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON;charset=\"UTF-8\"",
        "application/x-ndjson; charset=utf-8",
    ] {
        let a = send(
            &h,
            post("/ingest/events", content_type, r#"{"id":"a","count":1}"#),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{content_type}");
    }
}

#[tokio::test]
async fn body_arriving_in_several_chunks_is_joined() {
    let h = default_harness();
    let chunks = [
        r#"[{"id":"a","#,
        r#""count":1},{"id":"b""#,
        r#","count":2}]"#,
    ];
    let stream = futures::stream::iter(chunks.map(|c| Ok::<_, std::io::Error>(Bytes::from(c))));
    let a = send(
        &h,
        post(
            "/ingest/events",
            "application/json",
            Body::from_stream(stream),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "ingested": 2 }));
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_not_written() {
    let h = default_harness();
    let a = send(
        &h,
        post_json("/ingest/events", r#"{"id":"a","count":1,"extra":true}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let written = &payloads(&h.backend.calls()[0].1)[0];
    assert!(written.get("extra").is_none(), "{written}");
}

#[tokio::test]
async fn unknown_fields_are_refused_when_the_model_denies_them() {
    let h = default_harness();
    let a = send(
        &h,
        post_json("/ingest/strict", r#"{"id":"a","extra":true}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["records"][0]["path"], ".extra");
    assert!(h.backend.calls().is_empty());
}
