//! A real ClickHouse 18.16 cluster for a test: ZooKeeper and four servers (2 shards x 2
//! replicas) on loopback, started by `scripts/clickhouse-cluster.sh` (the one way this project
//! runs a cluster) under the test's temporary directory. Fails the test loudly when ZooKeeper
//! or ClickHouse is not installed (`scripts/setup.sh --tests`): never skips.
//!
//! Servers and ZooKeeper can be killed and started again with their data, for the fault tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use moose_runtime::clickhouse::{ClickHouse, ClickHouseConfig};

/// A running cluster; every process is killed (SIGKILL) when dropped.
pub struct TestCluster {
    dir: tempfile::TempDir,
    /// The `remote_servers` cluster name (`moose_cluster`).
    pub name: String,
    /// The four servers' HTTP URLs; nodes 1 and 2 are shard 1, nodes 3 and 4 shard 2.
    pub urls: Vec<String>,
    /// ZooKeeper's `host:port`.
    pub zookeeper: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/clickhouse-cluster.sh")
}

/// Runs `scripts/clickhouse-cluster.sh` with `args`; its stdout, or a panic with its stderr.
fn cluster_sh(args: &[&str]) -> String {
    let path = format!(
        "{}:/usr/sbin",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let output = Command::new(script())
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script().display()));
    assert!(
        output.status.success(),
        "scripts/clickhouse-cluster.sh {} failed (ZooKeeper and ClickHouse are installed by scripts/setup.sh --tests):\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

impl TestCluster {
    /// Starts ZooKeeper and the four servers; returns once every server sees ZooKeeper and
    /// lists the cluster.
    pub fn start() -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir for the ClickHouse cluster");
        let out = cluster_sh(&["start", &dir.path().display().to_string()]);
        let last = out.lines().last().unwrap_or_default();
        let mut parts = last.split_whitespace();
        let (Some(name), Some(urls), Some(zookeeper)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("scripts/clickhouse-cluster.sh start printed no connection line: {out}");
        };
        let urls: Vec<String> = urls.split(',').map(str::to_owned).collect();
        assert_eq!(urls.len(), 4, "four servers: {last}");
        TestCluster {
            name: name.to_owned(),
            urls,
            zookeeper: zookeeper.to_owned(),
            dir,
        }
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// A client for node `i` (1-based) in database `database`.
    pub async fn node(&self, i: usize, database: &str) -> ClickHouse {
        let mut config = ClickHouseConfig::new(self.urls[i - 1].clone());
        config.database = database.to_owned();
        ClickHouse::connect(config)
            .await
            .unwrap_or_else(|e| panic!("connecting to node {i} at {}: {e}", self.urls[i - 1]))
    }

    /// Kills node `i` (1-based) with SIGKILL.
    pub fn kill_node(&self, i: usize) {
        cluster_sh(&["node-stop", &self.path(), &i.to_string(), "--kill"]);
    }

    /// Starts node `i` again with its data; returns once it answers and sees ZooKeeper.
    pub fn start_node(&self, i: usize) {
        cluster_sh(&["node-start", &self.path(), &i.to_string()]);
    }

    /// Kills ZooKeeper (SIGKILL).
    pub fn kill_zookeeper(&self) {
        cluster_sh(&["zookeeper-stop", &self.path(), "--kill"]);
    }

    /// Starts ZooKeeper again on its port with its data.
    pub fn start_zookeeper(&self) {
        cluster_sh(&["zookeeper-start", &self.path()]);
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let dir = self.dir.path();
        let pids = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"));
        for entry in pids {
            if let Ok(pid) = std::fs::read_to_string(entry.path()) {
                let _ = Command::new("kill")
                    .args(["-KILL", pid.trim()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
