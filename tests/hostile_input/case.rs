//! One hostile-input case: what to send, and what a user must see afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use moose::graph::BoxFuture;
use serde_json::{Value, json};

use crate::http::Answer;

/// The chained example's ingest API (`RawData { id: String, value: f64 }`).
pub const RAW: &str = "/ingest/raw_data";
/// The ingest API of the model with more types ([`crate::Typed`]).
pub const TYPED: &str = "/ingest/typed";

/// A case that drives the server itself and checks its own answers.
pub type CustomFn = fn(SocketAddr) -> BoxFuture<'static, Result<(), String>>;

/// An extra check on the answer.
pub type CheckFn = fn(&Answer) -> Result<(), String>;

/// What to do.
pub enum Action {
    /// Send these bytes on a fresh connection and read the answer.
    Send(Vec<u8>),
    /// Send the pieces with `pause` between them (a slow client), optionally half-closing
    /// the connection after the last one (a client that gives up on its body).
    Pieces {
        pieces: Vec<Vec<u8>>,
        pause: Duration,
        half_close: bool,
    },
    /// Anything else; the function checks the answers itself.
    Custom(CustomFn),
}

/// What the answer must be.
pub enum Outcome {
    /// 200 `{"ingested": N}`, N being the records the case stores.
    Accepted,
    /// This 4xx with a JSON `{"error": ...}`; every fragment is in the sentence or in the
    /// message of a listed invalid record.
    Refused {
        status: u16,
        fragments: Vec<&'static str>,
    },
    /// This status without a JSON body: the HTTP layer (hyper) refused a request that is not
    /// valid HTTP before moose saw it, or the method was `HEAD`.
    Bare { status: u16 },
    /// The server closes the connection without answering (a client too slow to send its
    /// request head).
    Disconnected,
    /// Checked by the case's own function.
    Custom,
}

/// One case of the suite.
pub struct Case {
    pub name: String,
    pub action: Action,
    pub outcome: Outcome,
    /// Exactly the records the case adds to the `raw_data` stream (as stream payloads).
    pub raw: Vec<Value>,
    /// Exactly the records the case adds to the `typed` stream.
    pub typed: Vec<Value>,
    pub check: Option<CheckFn>,
}

impl Case {
    /// Sends `bytes`.
    pub fn send(name: &str, bytes: Vec<u8>) -> Case {
        Case::new(name, Action::Send(bytes))
    }

    /// Sends `pieces` slowly.
    pub fn pieces(name: &str, pieces: Vec<Vec<u8>>, pause: Duration, half_close: bool) -> Case {
        Case::new(
            name,
            Action::Pieces {
                pieces,
                pause,
                half_close,
            },
        )
    }

    /// Runs `f`, which checks its own answers.
    pub fn custom(name: &str, f: CustomFn) -> Case {
        let mut case = Case::new(name, Action::Custom(f));
        case.outcome = Outcome::Custom;
        case
    }

    fn new(name: &str, action: Action) -> Case {
        Case {
            name: name.to_owned(),
            action,
            outcome: Outcome::Accepted,
            raw: Vec::new(),
            typed: Vec::new(),
            check: None,
        }
    }

    /// Refused with `status` and a JSON error mentioning every fragment; stores nothing.
    pub fn refused(mut self, status: u16, fragments: &[&'static str]) -> Case {
        self.outcome = Outcome::Refused {
            status,
            fragments: fragments.to_vec(),
        };
        self
    }

    /// Answered with `status` and no JSON body (the HTTP layer refused the request before
    /// moose saw it, or the method was HEAD); stores nothing.
    pub fn refused_bare(mut self, status: u16) -> Case {
        self.outcome = Outcome::Bare { status };
        self
    }

    /// Disconnected without an answer; stores nothing.
    pub fn disconnected(mut self) -> Case {
        self.outcome = Outcome::Disconnected;
        self
    }

    /// Accepted (unless custom), adding exactly `records` to `raw_data`.
    pub fn stores_raw(mut self, records: Vec<Value>) -> Case {
        self.raw = records;
        self
    }

    /// Accepted (unless custom), adding exactly `records` to `typed`.
    pub fn stores_typed(mut self, records: Vec<Value>) -> Case {
        self.typed = records;
        self
    }

    /// Also runs `check` on the answer.
    pub fn check(mut self, check: CheckFn) -> Case {
        self.check = Some(check);
        self
    }
}

/// A `raw_data` record as the stream holds it (`value` is an `f64`).
pub fn raw(id: &str, value: f64) -> Value {
    json!({ "id": id, "value": value })
}

/// A valid `typed` record.
pub fn typed(id: &str) -> Value {
    json!({
        "id": id,
        "small": 7,
        "big": -42,
        "ratio": 0.5,
        "narrow": 0.25,
        "flag": true,
        "note": "a note",
        "text": "some text",
        "tags": ["a", "b"],
        "payload": {"k": [1, "two", null]},
    })
}

/// `record` with `field` set to `value`.
pub fn with(mut record: Value, field: &str, value: Value) -> Value {
    record[field] = value;
    record
}

/// `record` serialized, with `field`'s value replaced by raw JSON text (for values
/// `serde_json` cannot build: `NaN`, `1e400`, deep nesting).
pub fn with_raw(record: &Value, field: &str, text: &str) -> String {
    let marker = "\u{1}MARK\u{1}";
    let serialized = with(record.clone(), field, json!(marker)).to_string();
    serialized.replace(&format!("\"{}\"", marker.replace('\u{1}', "\\u0001")), text)
}

/// The first listed invalid record's path must be `path`.
pub fn first_path(answer: &Answer, path: &str) -> Result<(), String> {
    let got = &answer.json()["records"][0]["path"];
    if got == path {
        Ok(())
    } else {
        Err(format!(
            "first invalid record's path is {got}, expected `{path}`"
        ))
    }
}

/// The first listed invalid record's path must start with `prefix`.
pub fn first_path_under(answer: &Answer, prefix: &str) -> Result<(), String> {
    let got = &answer.json()["records"][0]["path"];
    if got.as_str().is_some_and(|p| p.starts_with(prefix)) {
        Ok(())
    } else {
        Err(format!(
            "first invalid record's path is {got}, expected one under `{prefix}`"
        ))
    }
}
