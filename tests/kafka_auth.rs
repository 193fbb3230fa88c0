//! Authenticated and encrypted Kafka: an Apache Kafka cluster with a SASL_PLAINTEXT listener
//! (SCRAM-SHA-256) and a TLS listener (certificates made by this test), the app connecting
//! through each with nothing but its `MOOSE_KAFKA_*` settings, and a wrong password stopping
//! the app at startup with a sentence that says so, instead of hanging.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::app::{ChildApp, child_main, free_addr, is_child};
use common::clickhouse::TestClickHouse;
use common::kafka::{KafkaOptions, TestKafka};
use common::ledger::Ledger;

/// Deadlock guard; never reached when things work.
const GUARD: Duration = Duration::from_secs(90);

const USER: &str = "moose-app";
const PASSWORD: &str = "correct horse battery staple";

/// Entry point of the apps this test starts.
#[test]
#[ignore = "run only as a child process by the authentication test"]
fn child_chained_app() {
    if is_child() {
        child_main(seed::chained_transforms::app());
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is required to make the test's certificates (scripts/setup.sh)");
    assert!(
        output.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it: `(ca.pem, server.pem)`, the
/// second holding the server's unencrypted PKCS#8 key and then its certificate.
fn certificates(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=moose test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    let pem = [
        std::fs::read_to_string(dir.join("server.key")).unwrap(),
        std::fs::read_to_string(dir.join("server.crt")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("server.pem"), pem).unwrap();
    (dir.join("ca.pem"), dir.join("server.pem"))
}

fn env(
    ch: &TestClickHouse,
    data: &Path,
    kafka: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", data.display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
    ];
    env.extend(kafka.iter().cloned());
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_runs_through_scram_and_tls_listeners_and_a_wrong_password_stops_it_clearly() {
    if is_child() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, server_pem) = certificates(certs.path());
    let broker = TestKafka::start_with(KafkaOptions {
        nodes: 1,
        sasl_scram: Some((USER.into(), PASSWORD.into())),
        tls_pem: Some(server_pem),
    });
    let ch = TestClickHouse::start().await;
    let client = reqwest::Client::new();
    let mut ledger = Ledger::default();

    // SASL_PLAINTEXT with SCRAM-SHA-256: topics created, records through both transforms.
    let scram = [
        ("MOOSE_KAFKA_BROKERS", broker.listener("SASL_PLAINTEXT")),
        ("MOOSE_KAFKA_SECURITY_PROTOCOL", "sasl_plaintext".to_owned()),
        ("MOOSE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256".to_owned()),
        ("MOOSE_KAFKA_SASL_USERNAME", USER.to_owned()),
        ("MOOSE_KAFKA_SASL_PASSWORD", PASSWORD.to_owned()),
    ];
    let data = tempfile::tempdir().unwrap();
    let app = ChildApp::spawn(
        "child_chained_app",
        &env(&ch, data.path(), &scram),
        free_addr(),
    );
    for _ in 0..5 {
        let status = ledger
            .post(&client, app.addr, "/ingest/raw_data", "scram", 20)
            .await;
        assert_eq!(status, 200, "ingest through the SCRAM listener");
    }
    ledger
        .assert_all_landed(&ch, "local.final_stream", None, "SCRAM-SHA-256", GUARD)
        .await;
    assert!(app.terminate().success(), "the SCRAM app stops cleanly");

    // TLS, verifying the broker's certificate against the test's CA.
    let tls = [
        ("MOOSE_KAFKA_BROKERS", broker.listener("SSL")),
        ("MOOSE_KAFKA_SECURITY_PROTOCOL", "ssl".to_owned()),
        (
            "MOOSE_KAFKA_CONFIG",
            format!("ssl.ca.location={}", ca.display()),
        ),
    ];
    let data = tempfile::tempdir().unwrap();
    let app = ChildApp::spawn(
        "child_chained_app",
        &env(&ch, data.path(), &tls),
        free_addr(),
    );
    for _ in 0..5 {
        let status = ledger
            .post(&client, app.addr, "/ingest/raw_data", "tls", 20)
            .await;
        assert_eq!(status, 200, "ingest through the TLS listener");
    }
    let counts = ledger
        .assert_all_landed(
            &ch,
            "local.final_stream",
            None,
            "SCRAM-SHA-256 then TLS",
            GUARD,
        )
        .await;
    assert_eq!(counts.acknowledged, 200);
    assert!(app.terminate().success(), "the TLS app stops cleanly");

    // A wrong password: startup fails, soon, saying what is wrong and where.
    let mut wrong = scram.clone();
    wrong[4].1 = "not the password".to_owned();
    let data = tempfile::tempdir().unwrap();
    let (status, stderr) = tokio::task::spawn_blocking({
        let env = env(&ch, data.path(), &wrong);
        move || ChildApp::run_to_failure("child_chained_app", &env, free_addr(), GUARD)
    })
    .await
    .unwrap();
    let status = status.unwrap_or_else(|| {
        panic!(
            "with a wrong password the app neither started nor stopped within {GUARD:?}:\n{stderr}"
        )
    });
    assert!(
        !status.success(),
        "the app must not start with a wrong password:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "the Kafka brokers at `{}` refused the connection",
            broker.listener("SASL_PLAINTEXT")
        )) && stderr.contains("Authentication failed")
            && stderr.contains("MOOSE_KAFKA_SASL_PASSWORD"),
        "the startup error names the failed authentication and the brokers:\n{stderr}"
    );
    assert!(
        !stderr.contains("not the password"),
        "the password never reaches a log:\n{stderr}"
    );
}
