//! Running a pipeline app for a test: in this process (`Runtime::start`) or as a child process
//! that can be SIGTERMed or SIGKILLed (the test binary re-executes itself).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use moose::RuntimeConfig;

/// A runtime config for tests: the given ClickHouse, data dir, and HTTP address.
pub fn test_config(clickhouse_url: &str, data_dir: &Path, http_addr: SocketAddr) -> RuntimeConfig {
    let mut config = RuntimeConfig {
        clickhouse_url: Some(clickhouse_url.to_owned()),
        data_dir: data_dir.to_owned(),
        http_addr,
        ..RuntimeConfig::default()
    };
    // Short batches keep the tests quick; batching itself is tested by the sync tests.
    config.sync.max_delay = Duration::from_millis(200);
    config
}

/// A free loopback port.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A child process running an app (see [`child_main`]).
pub struct ChildApp {
    pub child: Child,
    pub addr: SocketAddr,
}

/// This test binary, set to run only the test named `entry` as a child app serving `addr`,
/// with `env` (`MOOSE_*` settings) on top of this process's environment.
fn child_command(entry: &str, env: &[(&str, String)], addr: SocketAddr) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            entry,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env("MOOSE_TEST_CHILD", "1")
        .env("MOOSE_HTTP_ADDR", addr.to_string())
        .stdout(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

impl ChildApp {
    /// Re-executes this test binary, running only the test named `entry`, which must call
    /// [`child_main`]. `MOOSE_*` settings come from `env`.
    pub fn spawn(entry: &str, env: &[(&str, String)], addr: SocketAddr) -> ChildApp {
        let child = child_command(entry, env, addr)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("re-executing the test binary");
        let app = ChildApp { child, addr };
        app.wait_ready(Duration::from_secs(60));
        app
    }

    /// Re-executes this test binary like [`ChildApp::spawn`] but expects the app to fail:
    /// waits (at most `guard`) for it to exit; its exit status and stderr.
    pub fn run_to_failure(
        entry: &str,
        env: &[(&str, String)],
        addr: SocketAddr,
        guard: Duration,
    ) -> (Option<std::process::ExitStatus>, String) {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = child_command(entry, env, addr)
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("re-executing the test binary");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > guard {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        (
            status,
            std::fs::read_to_string(log.path()).unwrap_or_default(),
        )
    }

    /// Waits until `/ready` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(mut s) = std::net::TcpStream::connect(self.addr) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the child app did not become ready within {timeout:?}");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Resident memory of the child in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ChildApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process is a child started by [`ChildApp::spawn`].
pub fn is_child() -> bool {
    std::env::var_os("MOOSE_TEST_CHILD").is_some()
}

/// Body of a child app: runs `app` until SIGTERM, like a real binary: `start` on Kafka when
/// `MOOSE_KAFKA_BROKERS` is set, dev mode otherwise.
pub fn child_main(app: moose::App) {
    // Settings from MOOSE_* only, as the app's command line would read them.
    let config = moose::cli::Settings::from_env()
        .into_config()
        .expect("the child's MOOSE_* settings are valid");
    // RUST_LOG=... shows the child's logs on stderr when debugging a test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mode = match config.kafka {
            Some(_) => moose::Mode::Start,
            None => moose::Mode::Dev,
        };
        let runtime = moose::Runtime::start(&app, &config, mode)
            .await
            .expect("child app starts");
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        term.recv().await;
        runtime.shutdown().await;
    });
}

/// Posts JSON to `path`; the status code and body.
pub async fn post_json(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    body: String,
) -> (u16, serde_json::Value) {
    match client
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.json().await.unwrap_or(serde_json::Value::Null);
            (status, body)
        }
        Err(_) => (0, serde_json::Value::Null),
    }
}
