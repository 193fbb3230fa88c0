//! A real Apache Kafka 4.4 cluster (KRaft) for a test, started by `scripts/kafka.sh` (the one
//! way this project runs Kafka) under the test's temporary directory. Fails the test loudly
//! when Kafka is not installed (`scripts/setup.sh --with-kafka` installs it): never skips.
//!
//! Nodes can be killed, stopped and started again with their data, for the fault tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use moose_runtime::stream::kafka::{KafkaBackend, KafkaConfig};

/// What a cluster is started with besides its plaintext listener.
#[derive(Debug, Default, Clone)]
pub struct KafkaOptions {
    /// Combined broker+controller nodes (1 when 0).
    pub nodes: usize,
    /// `(user, password)`: adds a SASL_PLAINTEXT listener (SCRAM-SHA-256) with that user.
    pub sasl_scram: Option<(String, String)>,
    /// A PEM file with the key and certificate chain: adds an SSL listener.
    pub tls_pem: Option<PathBuf>,
}

/// A running cluster; killed (SIGKILL, every node) when dropped.
pub struct TestKafka {
    dir: tempfile::TempDir,
    brokers: String,
    nodes: usize,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh")
}

/// Runs `scripts/kafka.sh` with `args`; its stdout, or a panic with its stderr.
fn kafka_sh(args: &[&str]) -> String {
    let output = Command::new(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script().display()));
    assert!(
        output.status.success(),
        "scripts/kafka.sh {} failed (Kafka is installed by scripts/setup.sh --with-kafka):\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

impl TestKafka {
    /// One node.
    pub fn start() -> TestKafka {
        Self::start_with(KafkaOptions::default())
    }

    /// `nodes` nodes; with 3, topics default to replication factor 3 and
    /// `min.insync.replicas=2`.
    pub fn start_nodes(nodes: usize) -> TestKafka {
        Self::start_with(KafkaOptions {
            nodes,
            ..KafkaOptions::default()
        })
    }

    pub fn start_with(options: KafkaOptions) -> TestKafka {
        let dir = tempfile::tempdir().expect("temp dir for Kafka");
        let nodes = options.nodes.max(1);
        let path = dir.path().display().to_string();
        let nodes_arg = nodes.to_string();
        let mut args = vec!["start", &path, "--nodes", &nodes_arg];
        let scram = options.sasl_scram.map(|(u, p)| format!("{u}:{p}"));
        if let Some(scram) = &scram {
            args.extend(["--sasl-scram", scram]);
        }
        let pem = options.tls_pem.map(|p| p.display().to_string());
        if let Some(pem) = &pem {
            args.extend(["--tls", pem]);
        }
        let out = kafka_sh(&args);
        let brokers = out.lines().last().unwrap_or_default().trim().to_owned();
        assert!(
            brokers.starts_with("127.0.0.1:"),
            "scripts/kafka.sh start printed no bootstrap servers: {out}"
        );
        TestKafka {
            dir,
            brokers,
            nodes,
        }
    }

    /// `host:port,...` for `bootstrap.servers` (the plaintext listeners).
    pub fn brokers(&self) -> String {
        self.brokers.clone()
    }

    /// The bootstrap servers of an extra listener (`SASL_PLAINTEXT`, `SSL`).
    pub fn listener(&self, name: &str) -> String {
        let listeners = std::fs::read_to_string(self.dir.path().join("listeners")).unwrap();
        listeners
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("the cluster has no {name} listener: {listeners}"))
            .to_owned()
    }

    /// A backend connected to this cluster ([`TestKafka::config`]).
    pub async fn backend(&self) -> KafkaBackend {
        KafkaBackend::connect(self.config())
            .await
            .unwrap_or_else(|e| panic!("connecting to Kafka at {}: {e}", self.brokers))
    }

    /// Settings for this cluster; consumer groups notice a crashed member after 6 s (the
    /// broker's smallest allowed session timeout).
    pub fn config(&self) -> KafkaConfig {
        let mut config = KafkaConfig::new(self.brokers());
        config.properties = vec![("session.timeout.ms".into(), "6000".into())];
        config
    }

    /// How many nodes the cluster has.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Kills node `i` (1-based) with SIGKILL: no goodbye to its clients or its peers.
    pub fn kill_node(&self, i: usize) {
        kafka_sh(&["node-stop", &self.path(), &i.to_string(), "--kill"]);
    }

    /// Stops node `i` gracefully (SIGTERM: controlled shutdown, leadership moves first).
    pub fn stop_node(&self, i: usize) {
        kafka_sh(&["node-stop", &self.path(), &i.to_string()]);
    }

    /// Starts node `i` again with its data; returns once it is serving.
    pub fn start_node(&self, i: usize) {
        kafka_sh(&["node-start", &self.path(), &i.to_string()]);
    }

    /// Kills every node (the one-node outage test).
    pub fn stop(&mut self) {
        for i in 1..=self.nodes {
            if self.dir.path().join(format!("node-{i}.pid")).exists() {
                self.kill_node(i);
            }
        }
    }

    /// Starts every stopped node again, on the same ports and data.
    pub fn restart(&mut self) {
        for i in 1..=self.nodes {
            if !self.dir.path().join(format!("node-{i}.pid")).exists() {
                self.start_node(i);
            }
        }
    }

    /// Runs one of Kafka's own tools (`org.apache.kafka.tools.ConsoleProducer`, ...) from the
    /// same jars, with `stdin` as its input; its stdout.
    pub fn tool(&self, class: &str, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child = Command::new(script())
            .arg("tool")
            .arg(class)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", script().display()));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{class} {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The leader node of each partition of `topic`, from Kafka's own topic tool.
    pub fn leaders(&self, topic: &str) -> Vec<(u32, Option<usize>)> {
        let out = self.tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--bootstrap-server",
                &self.brokers,
                "--describe",
                "--topic",
                topic,
            ],
            "",
        );
        let field = |line: &str, name: &str| -> Option<String> {
            let rest = line.split(name).nth(1)?;
            Some(rest.split_whitespace().next()?.to_owned())
        };
        out.lines()
            .filter(|l| l.contains("Partition:"))
            .filter_map(|l| {
                let partition = field(l, "Partition:")?.parse().ok()?;
                let leader = field(l, "Leader:").and_then(|v| v.parse().ok());
                Some((partition, leader.filter(|&n: &usize| n > 0)))
            })
            .collect()
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The end of every node's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for i in 1..=self.nodes {
            let log = self.dir.path().join(format!("node-{i}/server.log"));
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {}\n", log.display()));
            out.push_str(&lines[lines.len().saturating_sub(20)..].join("\n"));
            out.push('\n');
        }
        out
    }
}

impl Drop for TestKafka {
    fn drop(&mut self) {
        // SIGKILL, not a graceful stop: the data is thrown away with the directory, and a
        // controlled shutdown of the last nodes of a cluster takes seconds each.
        for i in 1..=self.nodes {
            let pid_file = self.dir.path().join(format!("node-{i}.pid"));
            if let Ok(pid) = std::fs::read_to_string(pid_file) {
                let _ = Command::new("kill").args(["-9", pid.trim()]).status();
            }
        }
    }
}
