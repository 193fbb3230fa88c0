//! The command line every app binary gets.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;

use clap::{CommandFactory, Parser};
use moose::schema::ClickHouseCapabilities;
use moose_runtime::cli::{Cli, Command, Listing, render_ddl};

#[test]
fn help_explains_every_command_and_setting() {
    Cli::command().debug_assert();
    let help = Cli::command().render_long_help().to_string();
    for needle in [
        "dev",
        "start",
        "ddl",
        "peek",
        "ls",
        "MOOSE_CLICKHOUSE_PORT",
        "MOOSE_HTTP_ADDR",
        "MOOSE_CLICKHOUSE_URL",
        "MOOSE_DATA_DIR",
        "MOOSE_INGEST_TOKEN",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn dev_is_the_default_command_and_env_fills_settings() {
    let cli = Cli::try_parse_from(["app"]).unwrap();
    assert!(cli.command.is_none(), "no subcommand means dev");
    assert_eq!(cli.settings.http_addr.to_string(), "127.0.0.1:4000");
    let cli = Cli::try_parse_from(["app", "peek", "final_stream", "-n", "3"]).unwrap();
    assert!(
        matches!(cli.command, Some(Command::Peek { ref name, limit: 3 }) if name == "final_stream")
    );
    assert!(
        Cli::try_parse_from(["app", "serve"]).is_err(),
        "unknown subcommands are refused"
    );
}

#[test]
fn ddl_prints_tables_and_topics_for_the_server_version() {
    let cli = Cli::try_parse_from(["app", "ddl"]).unwrap();
    let old = ClickHouseCapabilities::for_version("18.16.1".parse().unwrap());
    let ddl = render_ddl(
        &chained_transforms::app(),
        &cli.settings.into_config().unwrap(),
        &old,
    )
    .unwrap();
    insta::assert_snapshot!(ddl);
}

#[test]
fn plan_and_allow_destructive_are_understood() {
    let cli = Cli::try_parse_from(["app", "plan", "--json"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Plan { json: true })));
    let cli = Cli::try_parse_from(["app", "start", "--allow-destructive"]).unwrap();
    assert!(cli.settings.allow_destructive);
    let cli = Cli::try_parse_from(["app", "start"]).unwrap();
    assert!(
        !cli.settings.allow_destructive,
        "start holds destructive changes back by default"
    );
    let help = Cli::command().render_long_help().to_string();
    assert!(
        help.contains("plan") && help.contains("--allow-destructive"),
        "{help}"
    );
}

/// `ls` lists everything in physical names (namespace applied) and where ClickHouse is: the
/// port a dev server last used in this data dir, or the one fixed by MOOSE_CLICKHOUSE_PORT.
#[test]
fn ls_lists_routes_streams_tables_and_tasks_in_physical_names() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::try_parse_from([
        "app",
        "ls",
        "--namespace",
        "prod",
        "--data-dir",
        "/nonexistent/moose-ls",
    ])
    .unwrap();
    assert!(matches!(cli.command, Some(Command::Ls { json: false })));
    let config = cli.settings.into_config().unwrap();
    let listing = Listing::of(&chained_transforms::app(), &config).unwrap();
    insta::assert_snapshot!(listing.to_string());

    // A dev server started in this data dir before: its URL, stable across starts.
    std::fs::create_dir_all(dir.path().join("clickhouse")).unwrap();
    std::fs::write(dir.path().join("clickhouse/ports"), "38123 38124\n").unwrap();
    let cli = Cli::try_parse_from(["app", "ls", "--json"]).unwrap();
    let mut config = cli.settings.into_config().unwrap();
    config.data_dir = dir.path().to_owned();
    let json =
        serde_json::to_value(Listing::of(&chained_transforms::app(), &config).unwrap()).unwrap();
    assert_eq!(json["clickhouse"]["url"], "http://127.0.0.1:38123");
    assert_eq!(json["clickhouse"]["database"], "local");
    assert_eq!(json["ingest"][0]["paths"][0], "/ingest/raw_data");
    assert_eq!(json["streams"][2]["destination"], "final_stream");
    assert_eq!(json["tables"][0]["order_by"], "`id`");
    assert_eq!(
        json["transforms"][1]["label"],
        "intermediate_stream->final_stream"
    );
    config.local_clickhouse_port = Some(9999);
    let json =
        serde_json::to_value(Listing::of(&chained_transforms::app(), &config).unwrap()).unwrap();
    assert_eq!(json["clickhouse"]["url"], "http://127.0.0.1:9999");
}
