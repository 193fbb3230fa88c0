//! The rules for the names of streams, tables and ingest APIs, and for versions: one
//! definition, used by the runtime's builder (`App::stream` and friends refuse a bad name at
//! run time) and by `pipeline!` (which refuses it while compiling, on the user's token).

#![warn(missing_docs)]

/// The longest name. A name becomes a topic name (Kafka allows 249 characters), a table name
/// and a URL segment, each with a namespace prefix or a version suffix added; 200 leaves room
/// for them.
pub const MAX_NAME_LEN: usize = 200;

/// An ingest pipeline's dead-letter queue (a stream and a table) is named after the pipeline
/// with this suffix: `events` has `events_dead_letter`.
pub const DEAD_LETTER_SUFFIX: &str = "_dead_letter";

/// Why `name` cannot name a stream, table or ingest API, or `None` when it can: names are
/// ASCII letters, digits and `_`, do not start with a digit, and are 1 to [`MAX_NAME_LEN`]
/// bytes long, because they become topic names, table names and URL segments as they are.
///
/// ```
/// assert_eq!(moose_names::name_problem("page_views_2"), None);
/// assert_eq!(moose_names::name_problem("2fast"), Some("it starts with a digit"));
/// assert!(moose_names::name_problem("café").is_some());
/// ```
pub const fn name_problem(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Some("it is empty");
    }
    if bytes.len() > MAX_NAME_LEN {
        return Some("it is longer than 200 characters");
    }
    if bytes[0].is_ascii_digit() {
        return Some("it starts with a digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            return Some(
                "only ASCII letters, digits and `_` can appear in topic, table and URL names",
            );
        }
        i += 1;
    }
    None
}

/// Why `version` cannot be a version, or `None` when it can: ASCII letters, digits, `.` and
/// `_`, at least one of them (`1.2` becomes the suffix `_1_2` of topic and table names).
///
/// ```
/// assert_eq!(moose_names::version_problem("1.2"), None);
/// assert!(moose_names::version_problem("1-2").is_some());
/// ```
pub const fn version_problem(version: &str) -> Option<&'static str> {
    let bytes = version.as_bytes();
    let mut ok = !bytes.is_empty();
    let mut i = 0;
    while ok && i < bytes.len() {
        ok = bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_';
        i += 1;
    }
    if ok {
        None
    } else {
        Some("a version is made of ASCII letters, digits, `.` and `_` (like `1.2`)")
    }
}

/// Why `path` cannot be a custom ingest path (the part after `/ingest/`), or `None` when it
/// can: `/`-separated segments of ASCII letters, digits, `_`, `-` and `.`, none empty, `.` or
/// `..`, at most 200 bytes; no leading or trailing `/`.
///
/// ```
/// assert_eq!(moose_names::ingest_path_problem("v2/events"), None);
/// assert!(moose_names::ingest_path_problem("/events").is_some());
/// assert!(moose_names::ingest_path_problem("a/../b").is_some());
/// assert!(moose_names::ingest_path_problem("a b").is_some());
/// ```
pub const fn ingest_path_problem(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return Some("a path is not empty");
    }
    if bytes.len() > MAX_NAME_LEN {
        return Some("a path is at most 200 characters long");
    }
    let mut i = 0;
    let mut segment_start = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'/' {
            let len = i - segment_start;
            let dots = len >= 1
                && len <= 2
                && bytes[segment_start] == b'.'
                && (len == 1 || bytes[segment_start + 1] == b'.');
            if len == 0 || dots {
                return Some(
                    "a path is `/`-separated segments, none empty, `.` or `..`, without a leading or trailing `/` (like `v2/events`)",
                );
            }
            segment_start = i + 1;
        } else {
            let b = bytes[i];
            if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
                return Some(
                    "only ASCII letters, digits, `_`, `-`, `.` and `/` can appear in an ingest path",
                );
            }
        }
        i += 1;
    }
    None
}

/// The name of the dead-letter queue of ingest pipeline `pipeline`.
///
/// ```
/// assert_eq!(moose_names::dead_letter_queue_name("events"), "events_dead_letter");
/// ```
pub fn dead_letter_queue_name(pipeline: &str) -> String {
    format!("{pipeline}{DEAD_LETTER_SUFFIX}")
}
