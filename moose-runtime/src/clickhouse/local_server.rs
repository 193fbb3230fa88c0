//! A ClickHouse server process that the runtime starts and owns: dev mode's table backend
//! and the server integration tests run against.
//!
//! Over 400 lines because starting a server someone else wrote is one job with many edges:
//! finding the binary, free ports, its config file, waiting for it, reporting why it did not
//! start, stopping it; split, each part would need the others' state.
//!
//! [`LocalClickHouse::start`] finds a server binary, picks free loopback ports, writes a
//! minimal `config.xml` + `users.xml` into the data directory, starts the process and waits
//! until `GET /ping` answers `Ok.`. Dropping the handle stops the server.
//!
//! The config is deliberately small so that it works on every server from Debian's 18.16.1
//! (2018) to current releases: one `default` user without password reachable only from
//! loopback, UTC, logs at level `warning`.
//!
//! Layout of the data directory:
//!
//! ```text
//! <data_dir>/config.xml            server config (rewritten on every start)
//! <data_dir>/ports                 `<http> <tcp>` of the last start, tried first next time
//! <data_dir>/users.xml             users, profiles, quotas
//! <data_dir>/data/                 ClickHouse `path`: databases, tables, metadata
//! <data_dir>/tmp/                  `tmp_path`
//! <data_dir>/user_files/           `user_files_path`
//! <data_dir>/format_schemas/       `format_schema_path`
//! <data_dir>/log/stdout.log        the process' stdout and stderr
//! <data_dir>/log/clickhouse-server.log, clickhouse-server.err.log   the server's own log
//! ```

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Env var naming the server binary to run; it wins over `PATH`.
const BINARY_ENV: &str = "MOOSE_CLICKHOUSE_BINARY";
/// Binaries looked up on `PATH`, in order. `clickhouse` is the all-in-one binary of modern
/// releases and needs the `server` subcommand.
const BINARY_NAMES: [&str; 2] = ["clickhouse-server", "clickhouse"];
/// Directories searched after `PATH`: Debian installs the server to `/usr/sbin`, which is
/// not on a normal user's `PATH`.
const FALLBACK_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// How long the server may take to answer `/ping` after being spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop (SIGTERM) may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between readiness / exit polls.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Timeout of one `/ping` request.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Fresh port pairs tried by [`LocalClickHouse::start`] when another process takes a port
/// between picking it and the server binding it.
const START_ATTEMPTS: usize = 3;
/// Lines of each log file quoted in start-up errors.
const LOG_TAIL_LINES: usize = 30;
/// Mark cache size in bytes (256 MiB): a dev server should not reserve the 5 GiB default.
const MARK_CACHE_SIZE: u64 = 256 * 1024 * 1024;

/// Something went wrong starting, reaching or stopping a [`LocalClickHouse`].
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// No ClickHouse server binary was found.
    #[error(
        "no ClickHouse server binary found (looked for `clickhouse-server` and `clickhouse` on PATH and in {fallback_dirs}, and {BINARY_ENV} is unset); install one (`apt-get install clickhouse-server` on Debian, or see https://clickhouse.com/docs/install), set {BINARY_ENV} to its path, or set MOOSE_CLICKHOUSE_URL to use a running server instead of starting one",
        fallback_dirs = FALLBACK_DIRS.join(", ")
    )]
    BinaryNotFound,
    /// `MOOSE_CLICKHOUSE_BINARY` names something that is not an executable file.
    #[error(
        "{BINARY_ENV}={value:?} is not an executable file; point it at a `clickhouse-server` or `clickhouse` binary, or unset it to search PATH"
    )]
    BadBinaryEnv {
        /// The env var's value.
        value: OsString,
    },
    /// No free loopback port could be reserved.
    #[error(
        "cannot find a free port on 127.0.0.1 for the local ClickHouse server: {source}; check that the loopback interface is up"
    )]
    NoFreePort {
        /// Why binding `127.0.0.1:0` failed.
        #[source]
        source: io::Error,
    },
    /// A file or directory of the data directory could not be used.
    #[error(
        "cannot {action} {path} for the local ClickHouse server: {source}; check that the data directory is writable"
    )]
    DataDir {
        /// What was attempted (`create directory`, `write`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another server process holds the data directory's lock.
    #[error(
        "another ClickHouse server is already running on data directory {data_dir} ({status}); stop that server, or give this one another data directory"
    )]
    DataDirInUse {
        /// The data directory.
        data_dir: PathBuf,
        /// What the running server wrote into its lock file `data/status` (pid, start time).
        status: String,
    },
    /// The data directory's path cannot be written into the XML config.
    #[error(
        "the ClickHouse data directory {path} is not valid UTF-8, so it cannot be written into config.xml; choose a data directory with a UTF-8 path"
    )]
    NonUtf8Path {
        /// The offending path.
        path: PathBuf,
    },
    /// The server process could not be spawned.
    #[error(
        "cannot run ClickHouse server {binary}: {source}; check that it is an executable for this machine"
    )]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why spawning failed.
        #[source]
        source: io::Error,
    },
    /// The server exited before it answered `/ping`.
    #[error(
        "ClickHouse server {binary} (data dir {data_dir}) exited with {status} during start-up, before answering on http://127.0.0.1:{http_port}/ping; {hint}\n{log_tail}"
    )]
    ExitedEarly {
        /// The binary.
        binary: PathBuf,
        /// The data directory.
        data_dir: PathBuf,
        /// The HTTP port it was told to listen on.
        http_port: u16,
        /// How it exited.
        status: ExitStatus,
        /// What to do about it, from what its log says.
        hint: &'static str,
        /// The lines the server logged during this start.
        log_tail: String,
    },
    /// The server kept running but did not answer `/ping` in time; it has been killed.
    #[error(
        "ClickHouse server {binary} (data dir {data_dir}) did not answer http://127.0.0.1:{http_port}/ping within {waited:?} and was killed; check its log below and the machine's load\n{log_tail}"
    )]
    NotReady {
        /// The binary.
        binary: PathBuf,
        /// The data directory.
        data_dir: PathBuf,
        /// The HTTP port it was told to listen on.
        http_port: u16,
        /// How long it was given.
        waited: Duration,
        /// The lines the server logged during this start.
        log_tail: String,
    },
    /// Signalling or waiting for the server process failed.
    #[error("cannot {action} ClickHouse server process {pid}: {source}")]
    Process {
        /// What was attempted (`stop`, `kill`, `wait for`).
        action: &'static str,
        /// The process id.
        pid: u32,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl LocalServerError {
    /// Whether start-up failed because a port was taken after we picked it.
    fn is_port_conflict(&self) -> bool {
        matches!(self, Self::ExitedEarly { log_tail, .. } if log_tail.contains("Address already in use"))
    }
}

/// The server binary and how to invoke it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServerBinary {
    path: PathBuf,
    /// The all-in-one `clickhouse` binary: run as `clickhouse server ...`.
    needs_subcommand: bool,
}

impl ServerBinary {
    fn new(path: PathBuf) -> Self {
        // Absolute, because the server runs in the data directory; not canonical, because
        // `clickhouse-server` may be a symlink to `clickhouse`, which dispatches on its name.
        let path = std::path::absolute(&path).unwrap_or(path);
        let needs_subcommand = path.file_name().is_some_and(|name| name == "clickhouse");
        Self {
            path,
            needs_subcommand,
        }
    }
}

/// A ClickHouse server process owned by this handle: started on free loopback ports with its
/// data under one directory, stopped (SIGTERM, then SIGKILL after 10 s) when dropped.
///
/// The binary is, in order: `$MOOSE_CLICKHOUSE_BINARY`; `clickhouse-server` or
/// `clickhouse` (run as `clickhouse server`) on `PATH`; the same names in `/usr/sbin`,
/// `/usr/bin`, `/usr/local/sbin`, `/usr/local/bin`.
///
/// All methods block; from async code call them inside `tokio::task::spawn_blocking`.
///
/// ```no_run
/// # fn main() -> Result<(), moose_runtime::clickhouse::LocalServerError> {
/// use moose_runtime::clickhouse::LocalClickHouse;
///
/// let server = LocalClickHouse::start(std::path::Path::new(".moose/clickhouse"))?;
/// println!("ClickHouse at {}", server.http_url());
/// server.stop()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LocalClickHouse {
    binary: ServerBinary,
    data_dir: PathBuf,
    http_port: u16,
    tcp_port: u16,
    child: Option<Child>,
    /// While the server is down after [`kill`](Self::kill): its ports, bound but not
    /// listening, so that no other process is handed them and connections are refused.
    reserved_ports: Vec<PortReservation>,
}

impl LocalClickHouse {
    /// Starts a server with its data, config and logs under `data_dir` (created if missing)
    /// and waits until it answers `GET /ping` (up to 30 s).
    ///
    /// Pass a directory used only by this server, e.g. `<MOOSE_DATA_DIR>/clickhouse`; data
    /// written by an earlier server in the same directory is kept. Only one server can run
    /// per directory: starting a second one fails with the first one's lock in the error.
    ///
    /// # Errors
    ///
    /// [`LocalServerError::BinaryNotFound`] when no binary is installed (the message says
    /// how to install one or how to use a running server instead), and the other variants
    /// when the directory cannot be prepared or the server does not come up; those quote
    /// the server's log.
    ///
    /// The ports are stable for a data directory: those of the last start (kept in
    /// `<data_dir>/ports`) are tried first, so the dev server keeps its URL across restarts;
    /// fresh ones are picked only when another process holds them.
    pub fn start(data_dir: &Path) -> Result<Self, LocalServerError> {
        Self::start_on(data_dir, None)
    }

    /// [`start`](Self::start), with the HTTP port fixed to `http_port` when given (the TCP
    /// port is then any free one): an error, not another port, when it is taken.
    pub fn start_on(data_dir: &Path, fixed_http: Option<u16>) -> Result<Self, LocalServerError> {
        let binary = find_binary(
            std::env::var_os(BINARY_ENV),
            std::env::var_os("PATH"),
            &FALLBACK_DIRS.map(Path::new),
        )?;
        let data_dir = prepare_data_dir(data_dir)?;
        let ports_file = data_dir.join("ports");
        let mut last = match fixed_http {
            Some(_) => None,
            None => read_ports(&ports_file),
        };
        let mut attempt = 1;
        loop {
            let (http_port, tcp_port) = match (fixed_http, last.take()) {
                (Some(http), _) => (http, free_port_other_than(http)?),
                (None, Some(pair)) => pair,
                (None, None) => free_port_pair()?,
            };
            let mut server = Self {
                binary: binary.clone(),
                data_dir: data_dir.clone(),
                http_port,
                tcp_port,
                child: None,
                reserved_ports: Vec::new(),
            };
            match server.launch() {
                Ok(()) => {
                    // Best effort: without it, the next start picks fresh ports.
                    let _ = fs::write(&ports_file, format!("{http_port} {tcp_port}\n"));
                    return Ok(server);
                }
                Err(err) if attempt < START_ATTEMPTS && err.is_port_conflict() => {
                    tracing::debug!(
                        http_port,
                        tcp_port,
                        "a port was taken before ClickHouse could bind it; retrying with new ports"
                    );
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The server's HTTP endpoint, e.g. `http://127.0.0.1:38123`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The HTTP port on 127.0.0.1.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The native-protocol (TCP) port on 127.0.0.1.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// The server's process id, or `None` after [`kill`](Self::kill) or a failed
    /// [`restart`](Self::restart).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The directory holding the server's config, data and logs (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server binary that was started.
    pub fn binary(&self) -> &Path {
        &self.binary.path
    }

    /// Whether the server process is still alive (it may have crashed or been killed).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server at once with SIGKILL, as a crash would, and waits for it to exit.
    /// Data is kept; [`restart`](Self::restart) brings the server back on the same ports,
    /// which are held (bound, not listening: connections are refused) until then so that
    /// no other process picks them meanwhile.
    ///
    /// # Errors
    ///
    /// [`LocalServerError::Process`] when the signal cannot be sent or the process not
    /// reaped.
    pub fn kill(&mut self) -> Result<(), LocalServerError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        child.kill().map_err(|source| LocalServerError::Process {
            action: "kill",
            pid,
            source,
        })?;
        child.wait().map_err(|source| LocalServerError::Process {
            action: "wait for",
            pid,
            source,
        })?;
        tracing::debug!(pid, "killed local ClickHouse server");
        self.reserved_ports = [self.http_port, self.tcp_port]
            .into_iter()
            .filter_map(PortReservation::new)
            .collect();
        Ok(())
    }

    /// Stops the server gracefully: SIGTERM, then SIGKILL if it has not exited after 10 s.
    ///
    /// # Errors
    ///
    /// [`LocalServerError::Process`] when the process cannot be signalled or reaped.
    pub fn stop(mut self) -> Result<(), LocalServerError> {
        self.terminate()
    }

    /// Starts the server again with the same binary, data directory and ports, stopping
    /// it first (gracefully) if it is still running, and waits until it answers `/ping`.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); in particular [`LocalServerError::ExitedEarly`] when
    /// another process took one of the ports while the server was down.
    pub fn restart(&mut self) -> Result<(), LocalServerError> {
        self.terminate()?;
        self.reserved_ports.clear();
        self.launch()
    }

    /// Writes the config, spawns the process and waits for `/ping`.
    fn launch(&mut self) -> Result<(), LocalServerError> {
        // Fail before rewriting the config a running server is using.
        ensure_unlocked(&self.data_dir)?;
        let config = self.write_config()?;
        let log_dir = self.data_dir.join("log");
        let stdout_path = log_dir.join("stdout.log");
        let err_log_path = log_dir.join("clickhouse-server.err.log");
        let logs = [
            LogMark::at_end(stdout_path.clone()),
            LogMark::at_end(err_log_path),
        ];

        let stdout = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stdout_path)
            .map_err(|source| LocalServerError::DataDir {
                action: "open",
                path: stdout_path.clone(),
                source,
            })?;
        let stderr = stdout
            .try_clone()
            .map_err(|source| LocalServerError::DataDir {
                action: "open",
                path: stdout_path.clone(),
                source,
            })?;

        let mut command = Command::new(&self.binary.path);
        if self.binary.needs_subcommand {
            command.arg("server");
        }
        let mut config_arg = OsString::from("--config-file=");
        config_arg.push(&config);
        command
            .arg(config_arg)
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = command.spawn().map_err(|source| LocalServerError::Spawn {
            binary: self.binary.path.clone(),
            source,
        })?;
        tracing::debug!(
            pid = child.id(),
            http_port = self.http_port,
            tcp_port = self.tcp_port,
            data_dir = %self.data_dir.display(),
            "started local ClickHouse server"
        );
        self.child = Some(child);
        self.wait_ready(&logs)
    }

    /// Polls `/ping` until it answers, the process exits, or [`READY_TIMEOUT`] passes.
    fn wait_ready(&mut self, logs: &[LogMark]) -> Result<(), LocalServerError> {
        let started = Instant::now();
        loop {
            let child = self
                .child
                .as_mut()
                .expect("wait_ready is called right after spawning");
            let pid = child.id();
            let exited = child
                .try_wait()
                .map_err(|source| LocalServerError::Process {
                    action: "wait for",
                    pid,
                    source,
                })?;
            if let Some(status) = exited {
                self.child = None;
                let log_tail = log_tail(logs);
                return Err(LocalServerError::ExitedEarly {
                    binary: self.binary.path.clone(),
                    data_dir: self.data_dir.clone(),
                    http_port: self.http_port,
                    status,
                    hint: exit_hint(&log_tail),
                    log_tail,
                });
            }
            if ping(self.http_port) {
                // Someone else might answer on a port we lost; only trust a live child.
                if let Ok(None) = self.child.as_mut().map_or(Ok(None), Child::try_wait) {
                    return Ok(());
                }
                continue;
            }
            if started.elapsed() >= READY_TIMEOUT {
                let _ = self.kill();
                return Err(LocalServerError::NotReady {
                    binary: self.binary.path.clone(),
                    data_dir: self.data_dir.clone(),
                    http_port: self.http_port,
                    waited: READY_TIMEOUT,
                    log_tail: log_tail(logs),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// SIGTERM, wait up to [`STOP_TIMEOUT`], then SIGKILL.
    fn terminate(&mut self) -> Result<(), LocalServerError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        let pid = child.id();
        let wait_error = |source| LocalServerError::Process {
            action: "wait for",
            pid,
            source,
        };
        if child.try_wait().map_err(wait_error)?.is_some() {
            self.child = None;
            return Ok(());
        }
        send_sigterm(pid).map_err(|source| LocalServerError::Process {
            action: "stop",
            pid,
            source,
        })?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if child.try_wait().map_err(wait_error)?.is_some() {
                self.child = None;
                tracing::debug!(pid, "stopped local ClickHouse server");
                return Ok(());
            }
            thread::sleep(POLL_INTERVAL);
        }
        tracing::warn!(
            pid,
            "local ClickHouse server did not stop within {STOP_TIMEOUT:?} of SIGTERM; killing it"
        );
        self.kill()
    }

    /// Writes `config.xml` and `users.xml`; returns the config's path.
    fn write_config(&self) -> Result<PathBuf, LocalServerError> {
        let dir = xml_path(&self.data_dir)?;
        let users_path = self.data_dir.join("users.xml");
        let config_path = self.data_dir.join("config.xml");
        let config = format!(
            r#"<?xml version="1.0"?>
<!-- Written by moose for a local ClickHouse server; rewritten on every start. -->
<clickhouse>
    <logger>
        <level>warning</level>
        <log>{dir}/log/clickhouse-server.log</log>
        <errorlog>{dir}/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>{MARK_CACHE_SIZE}</mark_cache_size>
</clickhouse>
"#,
            http_port = self.http_port,
            tcp_port = self.tcp_port,
        );
        let users = r#"<?xml version="1.0"?>
<!-- Written by moose for a local ClickHouse server; rewritten on every start. -->
<clickhouse>
    <profiles>
        <default></default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default></default>
    </quotas>
</clickhouse>
"#;
        write_file(&users_path, users)?;
        write_file(&config_path, &config)?;
        Ok(config_path)
    }
}

impl Drop for LocalClickHouse {
    fn drop(&mut self) {
        if let Err(err) = self.terminate() {
            tracing::warn!("could not stop the local ClickHouse server: {err}");
        }
    }
}

/// Finds the server binary: `env_binary` (the value of `MOOSE_CLICKHOUSE_BINARY`), then
/// each of [`BINARY_NAMES`] on `path_var`, then in `fallback_dirs`.
fn find_binary(
    env_binary: Option<OsString>,
    path_var: Option<OsString>,
    fallback_dirs: &[&Path],
) -> Result<ServerBinary, LocalServerError> {
    let path_dirs: Vec<PathBuf> = path_var
        .as_deref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();

    if let Some(value) = env_binary.filter(|v| !v.is_empty()) {
        let candidate = PathBuf::from(&value);
        // A bare name is looked up on PATH, like a shell would.
        let resolved = if candidate.components().count() == 1 {
            path_dirs
                .iter()
                .map(|dir| dir.join(&candidate))
                .find(|p| is_executable(p))
        } else {
            Some(candidate).filter(|p| is_executable(p))
        };
        return resolved
            .map(ServerBinary::new)
            .ok_or(LocalServerError::BadBinaryEnv { value });
    }

    let path_dirs: Vec<&Path> = path_dirs.iter().map(PathBuf::as_path).collect();
    for dirs in [path_dirs.as_slice(), fallback_dirs] {
        for name in BINARY_NAMES {
            for dir in dirs {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return Ok(ServerBinary::new(candidate));
                }
            }
        }
    }
    Err(LocalServerError::BinaryNotFound)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Creates the data directory and its sub-directories; returns its absolute path.
fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, LocalServerError> {
    let create = |path: &Path| {
        fs::create_dir_all(path).map_err(|source| LocalServerError::DataDir {
            action: "create directory",
            path: path.to_path_buf(),
            source,
        })
    };
    create(data_dir)?;
    let data_dir = fs::canonicalize(data_dir).map_err(|source| LocalServerError::DataDir {
        action: "resolve",
        path: data_dir.to_path_buf(),
        source,
    })?;
    for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
        create(&data_dir.join(sub))?;
    }
    Ok(data_dir)
}

/// Fails with [`LocalServerError::DataDirInUse`] when a server holds the lock on
/// `<data_dir>/data/status` (ClickHouse `flock`s it for as long as it runs).
#[cfg(unix)]
fn ensure_unlocked(data_dir: &Path) -> Result<(), LocalServerError> {
    use std::os::fd::AsRawFd;
    let status_path = data_dir.join("data").join("status");
    let Ok(mut file) = File::open(&status_path) else {
        return Ok(()); // never started here, or nothing to lock
    };
    // SAFETY: flock(2) on a descriptor owned by `file`, which outlives the call; the lock
    // (if we get it) is released when `file` is closed at the end of this function.
    let refused = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } != 0;
    if !refused || io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock {
        return Ok(());
    }
    let mut status = String::new();
    let _ = file.read_to_string(&mut status);
    let status = status.split_whitespace().collect::<Vec<_>>().join(" ");
    Err(LocalServerError::DataDirInUse {
        data_dir: data_dir.to_path_buf(),
        status: format!("{}: {status}", status_path.display()),
    })
}

#[cfg(not(unix))]
fn ensure_unlocked(_data_dir: &Path) -> Result<(), LocalServerError> {
    Ok(())
}

/// The path as XML text (escaped), without a trailing slash.
fn xml_path(path: &Path) -> Result<String, LocalServerError> {
    let text = path.to_str().ok_or_else(|| LocalServerError::NonUtf8Path {
        path: path.to_path_buf(),
    })?;
    let mut escaped = String::with_capacity(text.len());
    for c in text.trim_end_matches('/').chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    Ok(escaped)
}

fn write_file(path: &Path, contents: &str) -> Result<(), LocalServerError> {
    fs::write(path, contents).map_err(|source| LocalServerError::DataDir {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// The ports `<http> <tcp>` written by the last start, if readable.
fn read_ports(file: &Path) -> Option<(u16, u16)> {
    let text = fs::read_to_string(file).ok()?;
    let mut ports = text.split_whitespace().map(str::parse::<u16>);
    match (ports.next(), ports.next()) {
        (Some(Ok(http)), Some(Ok(tcp))) if http != tcp && http != 0 && tcp != 0 => {
            Some((http, tcp))
        }
        _ => None,
    }
}

/// A free loopback port other than `taken`.
fn free_port_other_than(taken: u16) -> Result<u16, LocalServerError> {
    loop {
        let (a, b) = free_port_pair()?;
        if a != taken {
            return Ok(a);
        }
        if b != taken {
            return Ok(b);
        }
    }
}

/// Two distinct free loopback ports (HTTP, TCP). Both listeners are held at once so the
/// ports differ; another process may still take one before the server binds it, which
/// [`LocalClickHouse::start`] handles by retrying.
fn free_port_pair() -> Result<(u16, u16), LocalServerError> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| Ok((l.local_addr()?.port(), l)))
            .map_err(|source| LocalServerError::NoFreePort { source })
    };
    let (http, _http_listener) = bind()?;
    let (tcp, _tcp_listener) = bind()?;
    Ok((http, tcp))
}

/// Whether `GET /ping` on the port answers `200 Ok.`.
fn ping(port: u16) -> bool {
    matches!(
        http_request(port, "GET", "/ping", "", PING_TIMEOUT),
        Ok((200, body)) if body.trim_end() == "Ok."
    )
}

/// A minimal blocking HTTP/1.0 request to `127.0.0.1:port`; returns status and body.
/// HTTP/1.0 makes the server close the connection after an un-chunked body.
fn http_request(
    port: u16,
    method: &str,
    target: &str,
    body: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "HTTP response without a header end",
        )
    })?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP response without a status code",
            )
        })?;
    Ok((status, body.to_owned()))
}

#[cfg(unix)]
fn send_sigterm(pid: u32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child, which
    // has not been reaped yet (the caller holds its `Child`), so the id cannot be reused.
    if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn send_sigterm(_pid: u32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "graceful stop needs SIGTERM (unix only)",
    ))
}

/// A loopback TCP port bound without listening: the kernel hands it to no one else, and
/// connections to it are refused, as to a server that is down.
#[derive(Debug)]
struct PortReservation {
    #[cfg(unix)]
    _socket: std::os::fd::OwnedFd,
}

impl PortReservation {
    /// Best effort: `None` when the port cannot be bound (e.g. someone already took it).
    #[cfg(unix)]
    fn new(port: u16) -> Option<Self> {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: plain socket calls on a descriptor we create and own; `OwnedFd` closes
        // it on every path, including the early returns.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return None;
            }
            let socket = OwnedFd::from_raw_fd(fd);
            // Like the server's own listener: TIME_WAIT connections must not block the bind.
            let one: libc::c_int = 1;
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) != 0
            {
                return None;
            }
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_port = port.to_be();
            addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
            if libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ) != 0
            {
                return None;
            }
            Some(Self { _socket: socket })
        }
    }

    #[cfg(not(unix))]
    fn new(_port: u16) -> Option<Self> {
        None
    }
}

/// A log file and its length before a start, so errors quote only that start's lines.
struct LogMark {
    path: PathBuf,
    offset: u64,
}

impl LogMark {
    fn at_end(path: PathBuf) -> Self {
        let offset = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Self { path, offset }
    }

    /// The last [`LOG_TAIL_LINES`] lines written since the mark.
    fn tail(&self) -> Option<String> {
        let mut file = File::open(&self.path).ok()?;
        let len = file.metadata().ok()?.len();
        // A rotated (shorter) file is read from its start; at most its last MiB is read.
        let offset = if len < self.offset { 0 } else { self.offset };
        let offset = offset.max(len.saturating_sub(1 << 20));
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return None;
        }
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        Some(tail.join("\n"))
    }
}

/// The new lines of each log, each under a header naming the file.
fn log_tail(logs: &[LogMark]) -> String {
    let parts: Vec<String> = logs
        .iter()
        .filter_map(|log| {
            log.tail()
                .map(|tail| format!("--- {} ---\n{tail}", log.path.display()))
        })
        .collect();
    if parts.is_empty() {
        "(the server logged nothing)".to_owned()
    } else {
        parts.join("\n")
    }
}

/// Advice for a server that exited during start-up, from what it logged.
fn exit_hint(log_tail: &str) -> &'static str {
    if log_tail.contains("Another server instance") || log_tail.contains("Cannot lock file") {
        "another ClickHouse server is already running on this data directory: stop it (its pid is in data/status under the data directory) or use another data directory"
    } else if log_tail.contains("Address already in use") {
        "one of its ports is used by another process: stop that process or start a new server on fresh ports"
    } else {
        "its log says why:"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(server: &LocalClickHouse, sql: &str) -> String {
        let (status, body) = http_request(
            server.http_port(),
            "POST",
            "/",
            sql,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|err| panic!("query `{sql}` on {} failed: {err}", server.http_url()));
        assert_eq!(status, 200, "query `{sql}` failed: {body}");
        body
    }

    fn port_is_closed(port: u16) -> bool {
        TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_secs(1),
        )
        .is_err()
    }

    fn start(dir: &Path) -> LocalClickHouse {
        LocalClickHouse::start(dir).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn starts_answers_restarts_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = start(dir.path());
        assert_eq!(
            server.http_url(),
            format!("http://127.0.0.1:{}", server.http_port())
        );
        assert_ne!(server.http_port(), server.tcp_port());
        assert!(server.data_dir().join("config.xml").is_file());
        assert_eq!(query(&server, "SELECT 1"), "1\n");
        // The `timezone` setting is applied (18.16 reports it as `Etc/UTC`).
        let timezone = query(&server, "SELECT timezone()");
        assert!(
            ["UTC\n", "Etc/UTC\n"].contains(&timezone.as_str()),
            "{timezone}"
        );
        assert_eq!(
            query(&server, "SELECT toString(toDateTime(86400))"),
            "1970-01-02 00:00:00\n"
        );

        query(
            &server,
            "CREATE TABLE default.kept (id UInt32) ENGINE = MergeTree() ORDER BY id",
        );
        query(&server, "INSERT INTO default.kept VALUES (1), (2), (3)");

        let (http_port, tcp_port) = (server.http_port(), server.tcp_port());
        let first_pid = server.pid().expect("running");
        server.restart().unwrap_or_else(|err| panic!("{err}"));
        assert_ne!(server.pid(), Some(first_pid));
        assert_eq!(
            (server.http_port(), server.tcp_port()),
            (http_port, tcp_port)
        );
        assert_eq!(query(&server, "SELECT 1"), "1\n");
        assert_eq!(query(&server, "SELECT sum(id) FROM default.kept"), "6\n");

        server.stop().unwrap();
        assert!(port_is_closed(http_port), "HTTP port still open after stop");
        assert!(port_is_closed(tcp_port), "TCP port still open after stop");
    }

    /// A new process on the same data dir gets the same URL (a script can keep using it);
    /// a port taken meanwhile gives way to a fresh one; a fixed port is used as given.
    #[test]
    fn the_ports_are_stable_for_a_data_dir_and_can_be_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let server = start(dir.path());
        let first = (server.http_port(), server.tcp_port());
        server.stop().unwrap();
        let server = start(dir.path());
        assert_eq!((server.http_port(), server.tcp_port()), first);
        server.stop().unwrap();

        let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, first.0)).unwrap();
        let server = start(dir.path());
        assert_ne!(server.http_port(), first.0, "the taken port is given up");
        assert_eq!(query(&server, "SELECT 1"), "1\n");
        let moved = server.http_port();
        server.stop().unwrap();
        drop(squatter);
        let server = start(dir.path());
        assert_eq!(server.http_port(), moved, "the new port is the one kept");
        server.stop().unwrap();

        let fixed = free_port_pair().unwrap().0;
        let server = LocalClickHouse::start_on(dir.path(), Some(fixed)).unwrap();
        assert_eq!(server.http_port(), fixed);
        assert_eq!(query(&server, "SELECT 1"), "1\n");
    }

    #[test]
    fn kill_then_restart_on_the_same_ports() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = start(dir.path());
        let http_port = server.http_port();
        assert!(server.is_running());

        server.kill().unwrap();
        assert_eq!(server.pid(), None);
        assert!(!server.is_running());
        assert!(port_is_closed(http_port), "HTTP port still open after kill");

        server.restart().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(server.http_port(), http_port);
        assert_eq!(query(&server, "SELECT 1"), "1\n");
        drop(server);
        assert!(port_is_closed(http_port), "HTTP port still open after drop");
    }

    #[test]
    fn second_server_on_one_data_dir_is_refused_before_touching_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = start(dir.path());
        let config_before = fs::read_to_string(first.data_dir().join("config.xml")).unwrap();
        let err = LocalClickHouse::start(dir.path()).expect_err("the data dir is locked");
        let message = err.to_string();
        assert!(
            matches!(err, LocalServerError::DataDirInUse { .. }),
            "unexpected error: {message}"
        );
        assert!(
            message.contains(&first.pid().unwrap().to_string()),
            "{message}"
        );
        let config_after = fs::read_to_string(first.data_dir().join("config.xml")).unwrap();
        assert_eq!(
            config_before, config_after,
            "the running server's config was rewritten"
        );
    }

    #[test]
    fn restart_on_a_taken_port_fails_with_the_server_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = start(dir.path());
        server.kill().unwrap();
        let _squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, server.tcp_port()))
            .expect("the killed server's TCP port is free");
        let err = server.restart().expect_err("the TCP port is taken");
        let message = err.to_string();
        assert!(
            matches!(err, LocalServerError::ExitedEarly { .. }),
            "unexpected error: {message}"
        );
        assert!(message.contains("used by another process"), "{message}");
        assert!(message.contains("Address already in use"), "{message}");
        assert!(message.contains("clickhouse-server.err.log"), "{message}");
        assert_eq!(server.pid(), None);
    }

    #[test]
    fn missing_binary_says_how_to_install_one() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_binary(None, Some(empty.path().into()), &[empty.path()]).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LocalServerError::BinaryNotFound));
        assert!(
            message.contains("apt-get install clickhouse-server"),
            "{message}"
        );
        assert!(
            message.contains("https://clickhouse.com/docs/install"),
            "{message}"
        );
        assert!(message.contains("MOOSE_CLICKHOUSE_URL"), "{message}");
        assert!(message.contains("MOOSE_CLICKHOUSE_BINARY"), "{message}");
    }

    #[test]
    fn binary_env_must_name_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-clickhouse");
        let err = find_binary(Some(missing.clone().into()), None, &[]).unwrap_err();
        assert!(matches!(err, LocalServerError::BadBinaryEnv { .. }));
        assert!(err.to_string().contains("no-such-clickhouse"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn binary_lookup_order_and_subcommand() {
        use std::os::unix::fs::PermissionsExt;
        let make = |dir: &Path, name: &str| {
            let path = dir.join(name);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let on_path = tempfile::tempdir().unwrap();
        let fallback = tempfile::tempdir().unwrap();
        let all_in_one = make(on_path.path(), "clickhouse");
        let server = make(fallback.path(), "clickhouse-server");

        // PATH wins over the fallback directories; `clickhouse` runs as `clickhouse server`.
        let found = find_binary(None, Some(on_path.path().into()), &[fallback.path()]).unwrap();
        assert_eq!(found.path, all_in_one);
        assert!(found.needs_subcommand);

        // On PATH, `clickhouse-server` wins over the all-in-one binary.
        let both = std::env::join_paths([on_path.path(), fallback.path()]).unwrap();
        let found = find_binary(None, Some(both), &[]).unwrap();
        assert_eq!(found, ServerBinary::new(server.clone()));
        assert!(!found.needs_subcommand);

        let found = find_binary(None, None, &[fallback.path()]).unwrap();
        assert_eq!(found.path, server);

        // The env var wins, and a bare name is looked up on PATH.
        let found = find_binary(
            Some("clickhouse".into()),
            Some(on_path.path().into()),
            &[fallback.path()],
        )
        .unwrap();
        assert_eq!(found.path, all_in_one);
        let found = find_binary(Some(server.clone().into()), None, &[]).unwrap();
        assert_eq!(found.path, server);
    }

    #[test]
    fn config_paths_are_xml_escaped() {
        assert_eq!(
            xml_path(Path::new("/tmp/a&b<c>/")).unwrap(),
            "/tmp/a&amp;b&lt;c&gt;"
        );
    }
}
