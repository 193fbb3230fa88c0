//! 400: invalid records, malformed JSON, no records; nothing is written.

use axum::http::StatusCode;
use serde_json::json;

use super::*;

#[tokio::test]
async fn every_invalid_record_of_an_array_is_listed_and_nothing_is_written() {
    let h = default_harness();
    let body = r#"[
        {"id":"ok","count":1},
        {"id":1,"count":1},
        {"id":"ok","count":2},
        {"id":"x","count":-1},
        {"id":"y","count":1,"tags":["a",2]},
        {"id":"z","count":1,"meta":{"source":false}},
        {"id":"w"},
        7
    ]"#;
    let a = send(&h, post_json("/ingest/events", body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(h.backend.calls().is_empty(), "nothing is written on 400");
    assert_eq!(a.body["received"], 8);
    assert_eq!(a.body["invalid"], 6);
    assert!(a.body.get("unlisted").is_none());
    let listed: Vec<(u64, &str)> = a.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, ".id"),
            (3, ".count"),
            (4, ".tags[1]"),
            (5, ".meta.source"),
            (6, "."),
            (7, "."),
        ]
    );
    let messages: Vec<&str> = a.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[4].contains("missing field `count`"),
        "{messages:?}"
    );
    assert!(
        a.error()
            .starts_with("6 of 8 records are not valid `Event` records"),
        "{}",
        a.error()
    );
    assert!(a.error().contains("nothing was written"));
}

#[tokio::test]
async fn single_invalid_object_is_reported_at_index_0() {
    let h = default_harness();
    let a = send(
        &h,
        post_json("/ingest/events", r#"{"id":"a","count":"many"}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["records"][0]["index"], 0);
    assert_eq!(a.body["records"][0]["path"], ".count");
    assert!(a.body["records"][0].get("line").is_none());
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn invalid_ndjson_lines_are_listed_with_index_and_line() {
    let h = default_harness();
    let body = "{\"id\":\"a\",\"count\":1}\n\n{\"id\":\"b\",\"count\":\"x\"}\n{not json\n";
    let a = send(&h, post("/ingest/events", "application/x-ndjson", body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["invalid"], 2);
    let records = a.body["records"].as_array().unwrap();
    assert_eq!(
        (&records[0]["index"], &records[0]["line"]),
        (&json!(1), &json!(3))
    );
    assert_eq!(records[0]["path"], ".count");
    assert_eq!(
        (&records[1]["index"], &records[1]["line"]),
        (&json!(2), &json!(4))
    );
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn the_list_of_invalid_records_is_capped_and_says_how_many_more() {
    let h = default_harness();
    let total = MAX_LISTED_RECORD_ERRORS + 500;
    let body = format!("[{}]", vec![r#"{"id":1}"#; total].join(","));
    let a = send(&h, post("/ingest/events", "application/json", body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["invalid"], total);
    assert_eq!(
        a.body["records"].as_array().unwrap().len(),
        MAX_LISTED_RECORD_ERRORS
    );
    assert_eq!(a.body["unlisted"], 500);
    assert!(
        a.error().contains("the first 1000 are listed"),
        "{}",
        a.error()
    );
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let h = default_harness();
    for body in [
        "{\"id\":\"a\",\n \"count\": }",
        "[{\"id\":\"a\",\"count\":1},\n {\"id\" \"b\"}]",
    ] {
        let a = send(&h, post_json("/ingest/events", body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.body["line"], 2, "{}", a.body);
        assert!(a.body["column"].as_u64().unwrap() > 0);
        assert!(
            a.error().starts_with("the body is not valid JSON"),
            "{}",
            a.error()
        );
    }
    assert!(h.backend.calls().is_empty());
}

#[tokio::test]
async fn no_records_is_400() {
    let h = default_harness();
    for (content_type, body) in [
        ("application/json", ""),
        ("application/json", " \n "),
        ("application/json", "[]"),
        ("application/x-ndjson", ""),
        ("application/x-ndjson", "\n\n  \n"),
    ] {
        let a = send(&h, post("/ingest/events", content_type, body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{content_type} {body:?}");
        assert!(a.error().contains("no records"), "{}", a.error());
    }
    assert!(h.backend.calls().is_empty());
}
