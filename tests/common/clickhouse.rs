//! A real ClickHouse server for a test: Debian's `clickhouse-server`, started by the runtime's
//! own `LocalClickHouse` on free loopback ports in a temporary directory.

use moose_runtime::clickhouse::{ClickHouse, ClickHouseConfig, LocalClickHouse};

/// A running server and a client connected to it; the server stops when this is dropped.
pub struct TestClickHouse {
    pub client: ClickHouse,
    pub server: LocalClickHouse,
    _dir: tempfile::TempDir,
}

impl TestClickHouse {
    /// Starts a server; panics (fails the test) when none can be started: tests never skip.
    pub async fn start() -> TestClickHouse {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_owned();
        let server = tokio::task::spawn_blocking(move || LocalClickHouse::start(&path))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("a real ClickHouse server is required for this test: {e}"));
        let client = ClickHouse::connect(ClickHouseConfig::new(server.http_url()))
            .await
            .expect("connect to the test server");
        client.ensure_database().await.expect("create database");
        TestClickHouse {
            client,
            server,
            _dir: dir,
        }
    }
}
