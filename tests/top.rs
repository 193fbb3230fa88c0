//! `top` against the seed's chained app on a real ClickHouse, behind an ingest token: the
//! rows of `top --json` and `top --once` show its route, streams, transforms and table with
//! the posted counts and rates computed from the app's own clock; a missing or wrong token
//! and an address with no app say what to set; and the live view, run in a real terminal
//! (tmux, 80x24), shows the same rows and quits on `q`, leaving the alternate screen.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;
mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use moose::{Mode, Runtime};
use moose_runtime::cli::top::{self, Kind, Report, Row, Screen, TopError, view};
use moose_runtime::cli::{Cli, Command as Subcommand};
use serde_json::{Value, json};

use common::app::{free_addr, is_child, test_config};
use common::clickhouse::TestClickHouse;

/// Deadlock guard for waits; never reached when things work.
const GUARD: Duration = Duration::from_secs(90);
const TOKEN: &str = "top-secret";

/// Posts `n` records (ids `{prefix}{i}`) to the seed's route, with the token.
async fn post(addr: SocketAddr, prefix: &str, n: usize) {
    let records: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("{prefix}{i}"), "value": i}))
        .collect();
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/ingest/raw_data"))
        .bearer_auth(TOKEN)
        .json(&records)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// Polls `/stats` through `top`'s own fetch until the table holds `rows` rows and no group lags.
async fn settled(addr: SocketAddr, rows: u64) {
    let start = Instant::now();
    loop {
        let stats = top::fetch_stats(addr, Some(TOKEN)).await.unwrap();
        if stats.syncs.iter().all(|s| s.rows == rows && s.lag == 0)
            && stats.transforms.iter().all(|t| t.lag == 0)
        {
            return;
        }
        assert!(
            start.elapsed() < GUARD,
            "never settled at {rows} rows: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn row<'a>(report: &'a Report, kind: Kind, name: &str) -> &'a Row {
    report
        .rows
        .iter()
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind:?} row {name} in {:#?}", report.rows))
}

/// The words of the line of `text` that starts with `name`.
fn cells<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
        .split_whitespace()
        .collect()
}

async fn start_app(ch: &TestClickHouse, dir: &std::path::Path) -> Runtime {
    let mut config = test_config(&ch.server.http_url(), dir, free_addr());
    config.ingest.tokens = vec![TOKEN.into()];
    Runtime::start(&chained_transforms::app(), &config, Mode::Dev)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_the_seed_app_with_its_counts_and_rates() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let runtime = start_app(&ch, dir.path()).await;
    let addr = runtime.http_addr().unwrap();

    // `top --json`: every node of the seed with what was posted, idle now: 0/s.
    post(addr, "a", 300).await;
    settled(addr, 300).await;
    let report = top::report(addr, Some(TOKEN)).await.unwrap();
    assert_eq!(report.address, addr.to_string());
    assert!(report.ready.ready, "{:?}", report.ready);
    assert_eq!(report.backend, "embedded log");
    assert!(report.interval_secs.unwrap() > 0.0);
    let route = row(&report, Kind::Route, "/ingest/raw_data");
    assert_eq!((route.records_in, route.errors), (300, Some(0)));
    assert_eq!(
        route.in_per_sec,
        Some(0.0),
        "nothing posted between the snapshots"
    );
    for stream in ["raw_data", "intermediate_stream", "final_stream"] {
        assert_eq!(
            row(&report, Kind::Stream, stream).records_in,
            300,
            "{stream}"
        );
    }
    for transform in [
        "raw_data->intermediate_stream",
        "intermediate_stream->final_stream",
    ] {
        let t = row(&report, Kind::Transform, transform);
        assert_eq!(
            (t.records_in, t.records_out, t.lag, t.errors, t.dead_letters),
            (300, Some(300), Some(0), Some(0), Some(0)),
            "{transform}"
        );
    }
    let table = row(&report, Kind::Sync, "final_stream");
    assert_eq!(table.records_in, 300);
    assert_eq!(table.table.as_deref(), Some("local.final_stream"));
    assert_eq!(report.rows.len(), 1 + 3 + 2 + 1, "{:#?}", report.rows);
    // The JSON a script reads.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rows"][0]["kind"], "route");
    assert_eq!(json["rows"][0]["records_in"], 300);

    // Rates on live numbers: 500 more records between two snapshots, per second of the app's
    // own clock between them.
    let before = top::fetch_stats(addr, Some(TOKEN)).await.unwrap();
    post(addr, "b", 500).await;
    settled(addr, 800).await;
    let now = top::fetch_stats(addr, Some(TOKEN)).await.unwrap();
    let report = Report::new(&addr.to_string(), Some(&before), &now);
    let secs = (now.taken_at_ms - before.taken_at_ms) as f64 / 1000.0;
    assert_eq!(report.interval_secs, Some(secs));
    for (kind, name) in [
        (Kind::Route, "/ingest/raw_data"),
        (Kind::Stream, "final_stream"),
        (Kind::Transform, "intermediate_stream->final_stream"),
        (Kind::Sync, "final_stream"),
    ] {
        let r = row(&report, kind, name);
        assert_eq!(r.records_in, 800, "{name}");
        assert_eq!(r.in_per_sec, Some(500.0 / secs), "{name}");
    }
    let address = addr.to_string();
    let frame = view::text(
        &Screen {
            address: &address,
            previous: Some(&before),
            current: &now,
            notice: None,
            interactive: false,
            scroll: 0,
        },
        80,
    );
    assert_eq!(
        cells(&frame, "/ingest/raw_data")[1..3],
        ["800", view::rate(Some(500.0 / secs)).as_str()]
    );

    // `top --once`: one frame of 80 columns, as a user would read it.
    let text = top::once_text(addr, Some(TOKEN), 80).await.unwrap();
    eprintln!("{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(
        text.starts_with(&format!("moose top  {addr}  up ")),
        "{text}"
    );
    assert!(
        text.contains("ClickHouse 18.16.1 at http://127.0.0.1:"),
        "{text}"
    );
    assert_eq!(text.lines().nth(2), Some("ready"), "{text}");
    assert_eq!(
        cells(&text, "/ingest/raw_data"),
        ["/ingest/raw_data", "800", "0/s", "0"]
    );
    assert_eq!(
        cells(&text, "intermediate_stream"),
        ["intermediate_stream", "800", "0/s"]
    );
    assert_eq!(
        cells(&text, "raw_data->intermediate_stream"),
        [
            "raw_data->intermediate_stream",
            "800",
            "0/s",
            "800",
            "0/s",
            "0",
            "0",
            "0"
        ]
    );
    assert_eq!(
        cells(&text, "local.final_stream"),
        ["local.final_stream", "800", "0/s", "0", "0", "0"]
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("rates over the last "),
        "{text}"
    );

    // Without the token, or with a wrong one: what to set.
    let missing = top::report(addr, None).await.unwrap_err();
    assert!(
        matches!(missing, TopError::TokenMissing { .. }),
        "{missing}"
    );
    assert!(
        missing.to_string().contains("set MOOSE_INGEST_TOKEN"),
        "{missing}"
    );
    let wrong = top::fetch_stats(addr, Some("nope")).await.unwrap_err();
    assert!(matches!(wrong, TopError::TokenRefused { .. }), "{wrong}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn an_address_without_an_app_says_to_start_it_or_set_moose_http_addr() {
    let addr = free_addr();
    let error = top::report(addr, None).await.unwrap_err().to_string();
    assert!(
        error.contains(&format!("cannot reach the app at http://{addr}")),
        "{error}"
    );
    assert!(
        error.contains("start it first") && error.contains("set MOOSE_HTTP_ADDR"),
        "{error}"
    );
}

#[test]
fn the_subcommand_takes_once_or_json() {
    let top =
        |args: &[&str]| Cli::try_parse_from(["app", "top"].iter().chain(args)).map(|c| c.command);
    assert!(matches!(
        top(&[]).unwrap(),
        Some(Subcommand::Top {
            once: false,
            json: false
        })
    ));
    assert!(matches!(
        top(&["--once"]).unwrap(),
        Some(Subcommand::Top {
            once: true,
            json: false
        })
    ));
    assert!(matches!(
        top(&["--json"]).unwrap(),
        Some(Subcommand::Top {
            once: false,
            json: true
        })
    ));
    assert!(top(&["--once", "--json"]).is_err(), "one output at a time");
}

/// Entry point of the live view in the tmux pane (re-executed by the tmux test): what the
/// `top` subcommand runs, with MOOSE_HTTP_ADDR and MOOSE_INGEST_TOKEN from the environment.
#[test]
#[ignore = "run only inside tmux by the interactive test"]
fn child_top() {
    if is_child() {
        let config = moose::cli::Settings::from_env().into_config().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(top::run(&config, false, false)).unwrap();
    }
}

/// A tmux server of its own (`-L`), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/setup.sh --tests installs it)");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    /// Polls the pane until `done` holds for it.
    fn until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < GUARD,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_view_at_80x24_shows_the_rows_and_quits_on_q() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let runtime = start_app(&ch, dir.path()).await;
    let addr = runtime.http_addr().unwrap();
    post(addr, "a", 250).await;
    settled(addr, 250).await;

    let exe = std::env::current_exe().unwrap();
    let tmux = Tmux {
        socket: format!("moose-top-test-{}", std::process::id()),
    };
    let command = format!(
        "'{}' child_top --exact --nocapture --include-ignored --test-threads=1",
        exe.display()
    );
    let child_addr = format!("MOOSE_HTTP_ADDR={addr}");
    let child_token = format!("MOOSE_INGEST_TOKEN={TOKEN}");
    let screen = tokio::task::spawn_blocking(move || {
        // remain-on-exit keeps the pane after `q`, to read its exit status and screen.
        tmux.run(&[
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "80",
            "-y",
            "24",
            "-e",
            "MOOSE_TEST_CHILD=1",
            "-e",
            &child_addr,
            "-e",
            &child_token,
            "-e",
            "RUST_LOG=off",
            &command,
        ]);
        let live = tmux.until("a second frame with rates", |s| {
            s.contains("rates over the last") && s.contains("local.final_stream")
        });
        tmux.run(&["send-keys", "-t", "top", "q"]);
        let start = Instant::now();
        let mut dead_since = None;
        let status = loop {
            let state = tmux.run(&[
                "display-message",
                "-p",
                "-t",
                "top",
                "#{pane_dead} #{pane_dead_status}",
            ]);
            // tmux marks the pane dead a moment before it knows the exit status.
            if state.starts_with('1') && state.split_whitespace().count() == 2 {
                break state.trim().to_owned();
            }
            // Now and then tmux 3.3 never learns the status of a dead pane; the test
            // harness in it then says how `top` ended (`child_top` unwraps its result).
            if state.starts_with('1') {
                let since = *dead_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(3) {
                    let screen = tmux.screen();
                    if screen.contains("test child_top ... ok") {
                        break "1 0".to_owned();
                    }
                    break format!("1 (unknown)\n{screen}");
                }
            }
            assert!(
                start.elapsed() < GUARD,
                "top did not quit on q:\n{}",
                tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        (live, status, tmux.screen())
    })
    .await
    .unwrap();
    let (live, status, after) = screen;
    eprintln!("{live}");
    assert!(live.lines().count() <= 24 && live.lines().all(|l| l.chars().count() <= 80));
    assert!(
        live.starts_with(&format!("moose top  {addr}  up ")),
        "{live}"
    );
    assert_eq!(
        cells(&live, "/ingest/raw_data")[..3],
        ["/ingest/raw_data", "250", "0/s"]
    );
    assert_eq!(
        cells(&live, "intermediate_stream->final_str…")[..6],
        [
            "intermediate_stream->final_str…",
            "250",
            "0/s",
            "250",
            "0/s",
            "0"
        ]
    );
    assert_eq!(
        cells(&live, "local.final_stream")[..3],
        ["local.final_stream", "250", "0/s"]
    );
    assert!(live.contains("q quit"), "{live}");
    assert_eq!(status, "1 0", "top exits 0 on q");
    // The alternate screen is gone: the pane shows the shell side again, not the table.
    assert!(!after.contains("IN/s"), "the view is left behind:\n{after}");
    assert!(after.contains("child_top"), "{after}");
    runtime.shutdown().await;
}
