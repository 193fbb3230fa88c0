//! [`ClickHouse`]: one server (or cluster entry point) as the runtime uses it: capabilities,
//! DDL, RowBinary inserts and reads for `peek`.

use bytes::Bytes;

use crate::schema::sql::quote_identifier;
use crate::schema::{ClickHouseCapabilities, ColumnType, ResolvedTable, ServerVersion};

/// Where ClickHouse is and who we are there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// HTTP URL, `http://host:8123`.
    pub url: String,
    /// Database for every table (created at start).
    pub database: String,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
}

/// The database when none is configured, as in MooseStack.
pub const DEFAULT_DATABASE: &str = "local";

impl ClickHouseConfig {
    /// `default` user with no password on `url`, database [`DEFAULT_DATABASE`].
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: DEFAULT_DATABASE.to_owned(),
            user: "default".to_owned(),
            password: String::new(),
        }
    }
}

/// A failed ClickHouse operation.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The server could not be reached or answered with an error.
    #[error("ClickHouse at {url}: {action} failed: {source}")]
    Request {
        /// Server URL.
        url: String,
        /// What was being done.
        action: String,
        /// The client's error.
        #[source]
        source: clickhouse::error::Error,
    },
    /// The server's version string could not be read.
    #[error("ClickHouse at {url} reported version {version:?}, which moose cannot read")]
    Version {
        /// Server URL.
        url: String,
        /// What it said.
        version: String,
    },
}

/// ClickHouse error codes that mean "these rows cannot be stored": the same insert fails the
/// same way every time, and a smaller insert without the offending rows succeeds. Anything
/// else (server down, too many parts, memory, a missing table or column) is worth retrying
/// and says nothing about particular rows.
const DATA_ERROR_CODES: &[u32] = &[
    6,   // CANNOT_PARSE_TEXT
    25,  // CANNOT_PARSE_ESCAPE_SEQUENCE
    26,  // CANNOT_PARSE_QUOTED_STRING
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    32,  // ATTEMPT_TO_READ_AFTER_EOF
    33,  // CANNOT_READ_ALL_DATA
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    53,  // TYPE_MISMATCH
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    117, // INCORRECT_DATA
    128, // TOO_LARGE_ARRAY_SIZE
    131, // TOO_LARGE_STRING_SIZE
    190, // SIZES_OF_ARRAYS_DONT_MATCH
    321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    395, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
    407, // DECIMAL_OVERFLOW
    469, // VIOLATED_CONSTRAINT
    691, // UNKNOWN_ELEMENT_OF_ENUM
];

impl ClickHouseError {
    /// The server's error code (`Code: 33` in its answer), when it answered with one.
    pub fn server_code(&self) -> Option<u32> {
        let ClickHouseError::Request {
            source: clickhouse::error::Error::BadResponse(message),
            ..
        } = self
        else {
            return None;
        };
        let rest = &message[message.find("Code: ")? + "Code: ".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        rest[..digits].parse().ok()
    }

    /// What a failed insert into a clustered table (a `Distributed` table over replicated
    /// ones) means, when the server's error code says: a replicated table read-only because
    /// its server lost ZooKeeper, ZooKeeper unreachable, or no replica of a shard answering.
    /// `None` for every other error.
    pub fn cluster_hint(&self) -> Option<&'static str> {
        match self.server_code()? {
            // TABLE_IS_READ_ONLY
            242 => Some(
                "a replicated table is read-only because its ClickHouse server has lost ZooKeeper; inserts resume once ZooKeeper is reachable again",
            ),
            // NO_ZOOKEEPER, KEEPER_EXCEPTION
            225 | 999 => Some(
                "ZooKeeper is unreachable, so replicated tables take no inserts; they resume once it is back",
            ),
            // UNKNOWN_STATUS_OF_INSERT
            319 => Some(
                "the ZooKeeper session was lost during the insert, so whether it landed is unknown; the retry sends the same block, which the replicated table drops if it has it",
            ),
            // ALL_CONNECTION_TRIES_FAILED, NETWORK_ERROR, SOCKET_TIMEOUT
            279 | 210 | 209 => Some(
                "no replica of a shard answered (the whole shard is down or unreachable); the batch waits for it",
            ),
            _ => None,
        }
    }

    /// Whether the server rejected the rows themselves (a value the table cannot hold), as
    /// opposed to being down or failing for reasons unrelated to the data: only then does
    /// splitting the insert isolate rows worth dead-lettering.
    pub fn is_data_error(&self) -> bool {
        self.server_code()
            .is_some_and(|code| DATA_ERROR_CODES.contains(&code))
    }
}

/// A connected ClickHouse server.
#[derive(Clone)]
pub struct ClickHouse {
    client: clickhouse::Client,
    config: ClickHouseConfig,
    caps: ClickHouseCapabilities,
}

impl std::fmt::Debug for ClickHouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouse")
            .field("url", &self.config.url)
            .field("database", &self.config.database)
            .field("version", &self.caps.version())
            .finish()
    }
}

impl ClickHouse {
    /// Connects and reads the server's version (`SELECT version()`).
    pub async fn connect(config: ClickHouseConfig) -> Result<Self, ClickHouseError> {
        // Validation off: the client's schema validation sends settings 18.16 rejects, and
        // moose's own row encoding already follows the resolved table.
        let client = clickhouse::Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_password(&config.password)
            .with_validation(false);
        let mut this = Self {
            client,
            config,
            caps: ClickHouseCapabilities::MODERN,
        };
        let version = this
            .query_text("SELECT version()", "reading the server version")
            .await?;
        let version = version.trim();
        let parsed: ServerVersion = version.parse().map_err(|_| ClickHouseError::Version {
            url: this.config.url.clone(),
            version: version.to_owned(),
        })?;
        this.caps = ClickHouseCapabilities::for_version(parsed);
        Ok(this)
    }

    /// What the server supports.
    pub fn capabilities(&self) -> &ClickHouseCapabilities {
        &self.caps
    }

    /// The configured database.
    pub fn database(&self) -> &str {
        &self.config.database
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    fn error(&self, action: &str, source: clickhouse::error::Error) -> ClickHouseError {
        ClickHouseError::Request {
            url: self.config.url.clone(),
            action: action.to_owned(),
            source,
        }
    }

    /// Runs a statement (DDL and the like) as written: no `?` bind parsing.
    pub async fn execute(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.client
            .query_raw(sql)
            .execute()
            .await
            .map_err(|e| self.error(&format!("running `{}`", first_line(sql)), e))
    }

    /// Runs a statement as written with ClickHouse `settings` (`name`, `value`) for it.
    pub async fn execute_with(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
    ) -> Result<(), ClickHouseError> {
        let mut query = self.client.query_raw(sql);
        for (name, value) in settings {
            query = query.with_setting(*name, *value);
        }
        query
            .execute()
            .await
            .map_err(|e| self.error(&format!("running `{}`", first_line(sql)), e))
    }

    /// `SELECT 1`, for readiness.
    pub async fn ping(&self) -> bool {
        self.query_text("SELECT 1", "ping").await.is_ok()
    }

    /// A query's whole output in `TabSeparated` text.
    pub async fn query_text(&self, sql: &str, action: &str) -> Result<String, ClickHouseError> {
        let mut cursor = self
            .client
            .query_raw(sql)
            .fetch_bytes("TabSeparated")
            .map_err(|e| self.error(action, e))?;
        let bytes = cursor.collect().await.map_err(|e| self.error(action, e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A query's rows as JSON objects (`JSONEachRow`).
    pub async fn query_json(&self, sql: &str) -> Result<Vec<serde_json::Value>, ClickHouseError> {
        let action = format!("running `{}`", first_line(sql));
        let mut cursor = self
            .client
            .query_raw(sql)
            .fetch_bytes("JSONEachRow")
            .map_err(|e| self.error(&action, e))?;
        let bytes = cursor.collect().await.map_err(|e| self.error(&action, e))?;
        Ok(bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect())
    }

    /// `CREATE DATABASE IF NOT EXISTS` for the configured database.
    pub async fn ensure_database(&self) -> Result<(), ClickHouseError> {
        self.execute(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            quote_identifier(&self.config.database)
        ))
        .await
    }

    /// Creates `table` if it does not exist (on a cluster: its database, replicated table and
    /// `Distributed` table, each `ON CLUSTER`).
    pub async fn create_table(&self, table: &ResolvedTable) -> Result<(), ClickHouseError> {
        for statement in table.create_statements() {
            self.execute(&statement).await?;
        }
        Ok(())
    }

    /// Inserts RowBinary rows encoded for `table`'s resolved column types.
    pub async fn insert_rows(
        &self,
        table: &ResolvedTable,
        rows: Bytes,
    ) -> Result<(), ClickHouseError> {
        self.insert_rows_once(table, rows, None).await
    }

    /// Inserts RowBinary rows, with an `insert_deduplication_token` on servers that have
    /// them ([`Feature::InsertDeduplicationToken`](crate::schema::Feature)): an insert
    /// repeated with the same token and rows is skipped by the server (on a table with a
    /// deduplication window), so a retried batch lands once. On older servers the token is
    /// not sent and a repeated insert stores the rows again, except into replicated tables
    /// (a clustered table), which drop a block identical to a recent one.
    pub async fn insert_rows_once(
        &self,
        table: &ResolvedTable,
        rows: Bytes,
        deduplication_token: Option<&str>,
    ) -> Result<(), ClickHouseError> {
        let action = format!("inserting into {}", table.qualified_name());
        let mut insert = self.client.insert_formatted_with(table.insert_sql());
        if let Some(token) = deduplication_token
            && self
                .caps
                .supports(crate::schema::Feature::InsertDeduplicationToken)
        {
            insert = insert.with_setting("insert_deduplication_token", token);
        }
        if table.is_clustered() {
            // Acknowledged only once every shard's replica has its rows: the sync commits its
            // offsets after this, and a retry re-sends the same block, which each shard's
            // replicated table drops as a duplicate.
            insert = insert.with_setting("insert_distributed_sync", "1");
        }
        if self.caps.supports(crate::schema::Feature::Json)
            && table.columns.iter().any(|c| has_json(&c.ty))
        {
            insert = insert.with_setting("input_format_binary_read_json_as_string", "1");
        }
        insert
            .send(rows)
            .await
            .map_err(|e| self.error(&action, e))?;
        insert.end().await.map_err(|e| self.error(&action, e))
    }
}

fn has_json(ty: &ColumnType) -> bool {
    match ty {
        ColumnType::Json => true,
        ColumnType::Nullable(t) | ColumnType::Array(t) | ColumnType::LowCardinality(t) => {
            has_json(t)
        }
        ColumnType::Map(k, v) => has_json(k) || has_json(v),
        ColumnType::Tuple(fields) => fields.iter().any(|(_, t)| has_json(t)),
        ColumnType::Custom { encode_as, .. } => has_json(encode_as),
        _ => false,
    }
}

fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or_default();
    if line.len() > 120 {
        format!("{}...", &line[..120])
    } else {
        line.to_owned()
    }
}
