//! A real Kafka-protocol broker for a test: `tansu` (crates.io, built by `scripts/setup.sh`)
//! on a free loopback port. Fails the test loudly when the binary is missing: never skips.
//!
//! The broker keeps its data in an SQLite file under the test's temporary directory, so it can
//! be stopped and started again with its topics, records and group offsets (the broker outage
//! test). Not tansu's in-memory engine: it answers a fetch from an offset inside a stored
//! batch with the batches after it, skipping the rest of that batch, which a consumer
//! resuming from a committed offset in the middle of a producer's batch would trip over.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use moose::runtime::stream::kafka::{KafkaBackend, KafkaConfig};

/// Where `tansu` is: `MOOSE_TANSU`, then `$MOOSE_TOOLS_DIR/bin` (default
/// `~/.cache/moose-tools/bin`, where `scripts/setup.sh` builds it), then `PATH`.
pub fn tansu_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOOSE_TANSU") {
        return PathBuf::from(path);
    }
    let tools = std::env::var_os("MOOSE_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/moose-tools")));
    if let Some(candidate) = tools.map(|t| t.join("bin/tansu"))
        && candidate.is_file()
    {
        return candidate;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("tansu");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the Kafka tests need the `tansu` broker and none was found (MOOSE_TANSU, \
         $MOOSE_TOOLS_DIR/bin, ~/.cache/moose-tools/bin, PATH); run scripts/setup.sh, which builds it"
    );
}

/// A running broker; stopped when dropped.
pub struct TestTansu {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl TestTansu {
    /// A broker on a free port; its data survives [`TestTansu::stop`] +
    /// [`TestTansu::restart`].
    pub fn start() -> TestTansu {
        let port = super::app::free_addr().port();
        let mut broker = TestTansu {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir for tansu"),
        };
        broker.restart();
        broker
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A backend connected to this broker ([`TestTansu::config`]).
    pub async fn backend(&self) -> KafkaBackend {
        KafkaBackend::connect(self.config())
            .await
            .unwrap_or_else(|e| panic!("connecting to tansu at {}: {e}", self.brokers()))
    }

    /// Settings for this broker; consumer groups notice a crashed member after 6 s.
    pub fn config(&self) -> KafkaConfig {
        let mut config = KafkaConfig::new(self.brokers());
        config.properties = vec![("session.timeout.ms".into(), "6000".into())];
        config
    }

    /// Starts the broker (again, on the same port and storage) and waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "tansu is already running");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        // Relative to the working directory: tansu joins even absolute paths onto it.
        let engine = "sqlite://tansu.db";
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("tansu log file");
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                engine,
            ])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("tansu log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting tansu ({}): {e}", tansu_binary().display()));
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "tansu exited ({status}) before listening on {}; its log:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "tansu did not listen on {} within 30 s; its log:\n{}",
                self.port,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("tansu.log")
    }

    /// The end of the broker's output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for TestTansu {
    fn drop(&mut self) {
        self.stop();
    }
}
