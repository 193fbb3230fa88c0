//! `top` drawn from canned snapshots into a `TestBackend`, read back as a user would.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::fetch::parse_response;
use super::view::{self, Screen, buffer_text, count, ellipsize, rate, uptime};
use super::*;

/// The seed's chained app with a dead-letter queue, a consumer and a failing ClickHouse,
/// two seconds apart: 500 records came in between the two.
fn snapshots() -> (Snapshot, Snapshot) {
    let at = |t: u64, uptime: f64, n: u64, ready: bool| {
        json!({
            "taken_at_ms": 1_764_750_000_000u64 + t,
            "uptime_secs": uptime,
            "version": "0.1.0",
            "backend": "embedded log",
            "clickhouse": {"url": "http://127.0.0.1:38123", "version": "18.16.1", "database": "local"},
            "ready": if ready {
                json!({"ready": true, "reasons": []})
            } else {
                json!({"ready": false, "reasons": [
                    "table sync final_stream -> `local`.`final_stream` has been failing for 12 s: Connection refused (os error 111)"
                ]})
            },
            "routes": [{"path": "/ingest/raw_data", "stream": "raw_data",
                        "requests": n / 100, "refused": n / 500, "records": n, "bytes": n * 25}],
            "streams": [
                {"name": "raw_data", "topic": "raw_data", "partitions": 1, "records": n, "dead_letter_queue": false},
                {"name": "failed", "topic": "failed", "partitions": 1, "records": n / 100, "dead_letter_queue": true},
                {"name": "intermediate_stream", "topic": "intermediate_stream", "partitions": 1,
                 "records": n - n / 100, "dead_letter_queue": false},
                {"name": "final_stream", "topic": "final_stream", "partitions": 1,
                 "records": n - n / 100, "dead_letter_queue": false}
            ],
            "transforms": [
                {"label": "raw_data->intermediate_stream", "from": "raw_data", "to": ["intermediate_stream"],
                 "group": "g1", "records_in": n, "records_out": n - n / 100, "errors": n / 100,
                 "dead_letters": n / 100, "dead_letter_queue": "failed", "lag": 0},
                {"label": "intermediate_stream->final_stream", "from": "intermediate_stream", "to": ["final_stream"],
                 "group": "g2", "records_in": n - n / 100, "records_out": n - n / 100, "errors": 0,
                 "dead_letters": 0, "dead_letter_queue": null, "lag": 0}
            ],
            "consumers": [
                {"label": "final_stream#0", "stream": "final_stream", "group": "g3",
                 "records_in": n - n / 100, "records_out": 0, "errors": 0, "dead_letters": 0,
                 "dead_letter_queue": null, "lag": 0}
            ],
            "syncs": [
                {"stream": "final_stream", "table": "final_stream", "qualified_table": "`local`.`final_stream`",
                 "group": "g4", "rows": 1000, "batches": 7,
                 "insert_failures": if ready { 0 } else { 3 }, "rows_rejected": 0,
                 "dead_letter_queue": null, "lag": if ready { 0 } else { n - n / 100 - 1000 }},
                {"stream": "failed", "table": "failed", "qualified_table": "`local`.`failed`",
                 "group": "g5", "rows": n / 100, "batches": 2, "insert_failures": 0, "rows_rejected": 0,
                 "dead_letter_queue": null, "lag": 0}
            ]
        })
    };
    let before = serde_json::from_value(at(0, 10.0, 1000, true)).unwrap();
    let now = serde_json::from_value(at(2000, 12.0, 1500, false)).unwrap();
    (before, now)
}

fn render(previous: Option<&Snapshot>, current: &Snapshot, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let screen = Screen {
        address: "127.0.0.1:4000",
        previous,
        current,
        notice: None,
        interactive: true,
        scroll: 0,
    };
    terminal.draw(|f| view::draw(f, &screen)).unwrap();
    buffer_text(terminal.backend().buffer())
}

/// The line of the table that starts with `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")) || *l == name)
        .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
}

fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn rates_are_the_difference_over_the_seconds_between_snapshots() {
    let (before, now) = snapshots();
    let rows = rows(Some(&before), &now);
    let route = rows.iter().find(|r| r.kind == Kind::Route).unwrap();
    assert_eq!(route.records_in, 1500);
    assert_eq!(route.in_per_sec, Some(250.0), "500 records in 2 s");
    assert_eq!(
        route.errors,
        Some(3),
        "refused requests are the route's errors"
    );
    let first = &rows[rows.iter().position(|r| r.kind == Kind::Transform).unwrap()];
    assert_eq!(first.name, "raw_data->intermediate_stream");
    assert_eq!(first.out_per_sec, Some(247.5));
    assert_eq!((first.errors, first.dead_letters), (Some(15), Some(15)));
    let table = rows
        .iter()
        .find(|r| r.kind == Kind::Sync && r.name == "final_stream")
        .unwrap();
    assert_eq!(
        table.in_per_sec,
        Some(0.0),
        "no rows inserted while ClickHouse fails"
    );
    assert_eq!(table.lag, Some(485));
    assert!(
        rows.iter()
            .any(|r| r.kind == Kind::Stream && r.name == "failed" && r.dead_letter_queue)
    );
    assert_eq!(
        rows.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [
            Kind::Route,
            Kind::Stream,
            Kind::Stream,
            Kind::Stream,
            Kind::Stream,
            Kind::Transform,
            Kind::Transform,
            Kind::Consumer,
            Kind::Sync,
            Kind::Sync
        ]
    );
}

#[test]
fn no_rates_without_an_earlier_snapshot_of_the_same_run() {
    let (before, now) = snapshots();
    assert!(rows(None, &now).iter().all(|r| r.in_per_sec.is_none()));
    // The app restarted between the two: its counters began again, no rate is honest.
    let mut restarted = now.clone();
    restarted.uptime_secs = 1.0;
    assert!(
        rows(Some(&before), &restarted)
            .iter()
            .all(|r| r.in_per_sec.is_none() && r.out_per_sec.is_none())
    );
    assert_eq!(interval_secs(&now, &before), None, "snapshots out of order");
}

#[test]
fn at_80x24_every_row_and_the_not_ready_reason_fit() {
    let (before, now) = snapshots();
    let text = render(Some(&before), &now, 80, 24);
    insta::assert_snapshot!(text);

    assert!(text.lines().all(|l| l.chars().count() <= 80));
    let route = cells(line(&text, "/ingest/raw_data"));
    assert_eq!(route, ["/ingest/raw_data", "1500", "250/s", "3"]);
    assert_eq!(
        cells(line(&text, "raw_data")),
        ["raw_data", "1500", "250/s"]
    );
    let first = cells(line(&text, "raw_data->intermediate_stream"));
    assert_eq!(
        first,
        [
            "raw_data->intermediate_stream",
            "1500",
            "250/s",
            "1485",
            "248/s",
            "0",
            "15",
            "15"
        ]
    );
    // 33 characters do not fit the 31 of the name column at 80 columns: cut with an ellipsis.
    let second = cells(line(&text, "intermediate_stream->final_str…"));
    assert_eq!(
        second[1..],
        ["1485", "248/s", "1485", "248/s", "0", "0", "0"]
    );
    // The table stalls behind ClickHouse: rows 0/s, lag and insert failures shown.
    let table = cells(line(&text, "local.final_stream"));
    assert_eq!(
        table,
        ["local.final_stream", "1000", "0/s", "485", "3", "0"]
    );
    assert_eq!(
        cells(line(&text, "failed (dlq)")),
        ["failed", "(dlq)", "15", "2.5/s"]
    );
    assert!(text.contains("NOT READY"), "{text}");
    assert!(
        text.contains("table sync final_stream -> `local`.`final_stream` has been"),
        "{text}"
    );
    assert!(text.contains("Connection refused (os error 111)"), "{text}");
    assert!(text.contains("up 12s"), "{text}");
    assert!(text.contains("embedded log"), "{text}");
    assert!(
        text.contains("ClickHouse 18.16.1 at http://127.0.0.1:38123"),
        "{text}"
    );
    assert!(text.contains("rates over the last 2.0 s"), "{text}");
    assert!(text.contains("q quit"), "{text}");
}

#[test]
fn at_120x40_long_names_are_whole() {
    let (before, now) = snapshots();
    let text = render(Some(&before), &now, 120, 40);
    assert!(text.lines().all(|l| l.chars().count() <= 120));
    let second = cells(line(&text, "intermediate_stream->final_stream"));
    assert_eq!(
        second,
        [
            "intermediate_stream->final_stream",
            "1485",
            "248/s",
            "1485",
            "248/s",
            "0",
            "0",
            "0"
        ]
    );
    let consumer = cells(line(&text, "final_stream#0"));
    assert_eq!(consumer, ["final_stream#0", "1485", "248/s", "0", "0", "0"]);
    assert!(
        !text.contains('…'),
        "nothing is cut at 120 columns:\n{text}"
    );
    for section in [
        "ingest routes",
        "streams",
        "transforms",
        "consumers",
        "tables",
    ] {
        assert!(text.lines().any(|l| l == section), "{section}:\n{text}");
    }
}

#[test]
fn a_ready_app_says_so_and_the_first_frame_has_no_rates_yet() {
    let (before, _) = snapshots();
    let text = render(None, &before, 80, 24);
    assert!(text.lines().nth(2) == Some("ready"), "{text}");
    assert!(!text.contains("NOT READY"));
    assert_eq!(
        cells(line(&text, "/ingest/raw_data")),
        ["/ingest/raw_data", "1000", "-", "2"]
    );
    assert!(text.contains("rates after the next refresh"), "{text}");
}

#[test]
fn more_rows_than_lines_scroll_and_say_where_they_are() {
    let (before, mut now) = snapshots();
    let template = now.streams[0].clone();
    for i in 0..30 {
        let mut s = template.clone();
        s.name = format!("extra_{i:02}");
        now.streams.push(s);
    }
    let text = render(Some(&before), &now, 80, 24);
    assert_eq!(text.lines().count(), 24);
    let footer = text.lines().last().unwrap();
    assert!(footer.contains("lines 1-"), "{footer}");
    assert!(footer.contains("of 45"), "{footer}");
    assert!(footer.contains("up/down scroll"), "{footer}");

    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let screen = Screen {
        address: "127.0.0.1:4000",
        previous: Some(&before),
        current: &now,
        notice: None,
        interactive: true,
        scroll: 1000,
    };
    terminal.draw(|f| view::draw(f, &screen)).unwrap();
    let end = buffer_text(terminal.backend().buffer());
    assert!(
        end.lines()
            .nth(end.lines().count() - 2)
            .unwrap()
            .starts_with("local.failed "),
        "scrolled to the end, the last row shows:\n{end}"
    );
    assert!(
        end.lines().last().unwrap().contains("lines 30-45 of 45"),
        "{end}"
    );
    assert_eq!(view::max_scroll(&screen, 80, 24), 29);
}

#[test]
fn once_text_is_as_tall_as_its_rows_and_keys_are_not_offered() {
    let (before, now) = snapshots();
    let screen = Screen {
        address: "127.0.0.1:4000",
        previous: Some(&before),
        current: &now,
        notice: Some("the app at http://127.0.0.1:4000 did not answer"),
        interactive: false,
        scroll: 0,
    };
    let text = view::text(&screen, 80);
    assert!(text.contains("! the app at http://127.0.0.1:4000 did not answer"));
    assert!(!text.contains("q quit"), "{text}");
    assert!(text.ends_with("rates over the last 2.0 s\n"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("local.failed ")),
        "the last table row is there:\n{text}"
    );
}

#[test]
fn the_runtime_stats_read_back_field_for_field() {
    use crate::telemetry::stats::{
        ClickHouseStats, ReadyStats, RouteStats as R, Stats, StreamStats as S, SyncStats as Y,
        TaskStats as T,
    };
    let task = |label: &str, transform: bool| T {
        label: label.into(),
        from: transform.then(|| "a".into()),
        to: transform.then(|| vec!["b".into()]),
        stream: (!transform).then(|| "a".into()),
        group: "g".into(),
        records_in: 1,
        records_out: 2,
        errors: 3,
        dead_letters: 4,
        dead_letter_queue: Some("dlq".into()),
        lag: 5,
    };
    let stats = Stats {
        taken_at_ms: 6,
        uptime_secs: 7.5,
        version: "9.9.9".into(),
        backend: "kafka b:9092".into(),
        clickhouse: ClickHouseStats {
            url: "http://ch".into(),
            version: "24.8".into(),
            database: "db".into(),
        },
        ready: ReadyStats {
            ready: false,
            reasons: vec!["why".into()],
        },
        routes: vec![R {
            path: "/ingest/a".into(),
            stream: "a".into(),
            requests: 8,
            refused: 9,
            records: 10,
            bytes: 11,
        }],
        streams: vec![S {
            name: "a".into(),
            topic: "ns_a".into(),
            partitions: 12,
            records: 13,
            dead_letter_queue: true,
        }],
        transforms: vec![task("a->b", true)],
        consumers: vec![task("a#0", false)],
        syncs: vec![Y {
            stream: "a".into(),
            table: "t".into(),
            qualified_table: "db.t".into(),
            group: "g".into(),
            rows: 14,
            batches: 15,
            insert_failures: 16,
            rows_rejected: 17,
            dead_letter_queue: None,
            lag: 18,
        }],
    };
    let served = serde_json::to_value(&stats).unwrap();
    let read: Snapshot = serde_json::from_value(served.clone()).unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), served);
}

#[test]
fn numbers_keep_their_column_widths() {
    assert_eq!(rate(Some(500.0 / 2.0)), "250/s");
    assert_eq!(rate(None), "-");
    assert_eq!(rate(Some(0.0)), "0/s");
    assert_eq!(rate(Some(2.5)), "2.5/s");
    assert_eq!(rate(Some(12_345.0)), "12.3k/s");
    assert_eq!(rate(Some(123_456.0)), "123k/s");
    assert_eq!(rate(Some(2_500_000.0)), "2.5M/s");
    assert_eq!(count(99_999), "99999");
    assert_eq!(count(100_000), "100k");
    assert_eq!(count(123_456), "123k");
    assert_eq!(count(1_234_567), "1.2M");
    assert_eq!(count(12_345_678), "12.3M");
    assert!(count(u64::MAX).len() <= 6, "{}", count(u64::MAX));
    assert_eq!(uptime(12.5), "12s");
    assert_eq!(uptime(184.0), "3m04s");
    assert_eq!(uptime(7500.0), "2h05m");
    assert_eq!(uptime(273_600.0), "3d04h");
    assert_eq!(ellipsize("intermediate_stream", 10), "intermedi…");
    assert_eq!(ellipsize("short", 10), "short");
}

#[test]
fn answers_are_read_with_a_length_chunked_or_until_closed() {
    let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
    assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
    assert_eq!(
        parse_response(chunked).unwrap(),
        (200, b"{\"a\":1}".to_vec())
    );
    let closed = b"HTTP/1.1 401 Unauthorized\r\n\r\nno";
    assert_eq!(parse_response(closed).unwrap(), (401, b"no".to_vec()));
    assert!(parse_response(b"SSH-2.0-OpenSSH\r\n").is_err());
}

#[test]
fn errors_name_the_address_and_what_to_set() {
    let addr: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let missing = TopError::TokenMissing { addr }.to_string();
    assert!(
        missing.contains("http://127.0.0.1:4000") && missing.contains("set MOOSE_INGEST_TOKEN")
    );
    let refused = TopError::TokenRefused { addr }.to_string();
    assert!(refused.contains("refused the token in MOOSE_INGEST_TOKEN"));
}
