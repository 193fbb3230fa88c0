//! `GET /dashboard` in a real browser: the seed app (examples/chained_transforms.rs) on a real
//! ClickHouse, and headless Chromium driven by `playwright-core` running
//! `tests/browser/dashboard.mjs`, which checks that the page draws every stream and table,
//! that its counts rise by what it posts, and that clicking the table shows the posted
//! records; it writes a screenshot.
//!
//! Needs Debian's `chromium` and the node modules of `tests/browser/package.json`:
//! `scripts/setup.sh --tests` installs both (the modules into
//! `$MOOSE_TOOLS_DIR/browser-test/node_modules`). `MOOSE_DASHBOARD_SCREENSHOT=docs/dashboard.png`
//! keeps the screenshot (that is how the README's picture is made).

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use moose::{Mode, Runtime};

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;

const SETUP: &str = "run scripts/setup.sh --tests";

/// Where `scripts/setup.sh --tests` puts the browser test's node modules.
fn browser_modules() -> PathBuf {
    if let Some(dir) = std::env::var_os("MOOSE_BROWSER_MODULES") {
        return PathBuf::from(dir);
    }
    let tools = std::env::var_os("MOOSE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cache/moose-tools")
        });
    tools.join("browser-test/node_modules")
}

fn chromium() -> PathBuf {
    std::env::var_os("MOOSE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The tools, or a failure that says how to get them: this test never skips.
fn require_tools() -> (PathBuf, PathBuf) {
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "Chromium is missing at {} (set MOOSE_CHROMIUM to use another); {SETUP}",
        chromium.display()
    );
    let modules = browser_modules();
    assert!(
        modules.join("playwright-core/package.json").is_file(),
        "playwright-core is missing from {} (set MOOSE_BROWSER_MODULES to use another); {SETUP}",
        modules.display()
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing; {SETUP}"
    );
    (chromium, modules)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_seed_pipeline_its_counts_rising_and_a_tables_records() {
    let (chromium, modules) = require_tools();
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let runtime = Runtime::start(&chained_transforms::app(), &config, Mode::Dev)
        .await
        .unwrap();
    let base = format!("http://{}/", runtime.http_addr().unwrap());
    let screenshot = match std::env::var_os("MOOSE_DASHBOARD_SCREENSHOT") {
        Some(path) => PathBuf::from(path),
        None => dir.path().join("dashboard.png"),
    };

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.mjs");
    let output = {
        let screenshot = screenshot.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(script)
                .arg(&base)
                .arg(&screenshot)
                .env("MOOSE_BROWSER_MODULES", &modules)
                .env("MOOSE_CHROMIUM", &chromium)
                .output()
                .expect("node runs")
        })
        .await
        .unwrap()
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "the dashboard in Chromium did not show what the app did:\n{report}"
    );
    assert!(report.contains("dashboard: ok"), "{report}");

    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is not a page's screenshot ({} bytes)",
        screenshot.display(),
        png.len()
    );
    runtime.shutdown().await;
}
