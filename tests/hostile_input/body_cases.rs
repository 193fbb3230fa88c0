//! Cases about the body: JSON that is broken, of the wrong shape, out of range, deeply
//! nested, huge, not UTF-8, or full of strings that look like SQL or unusual Unicode.
//!
//! Over 400 lines: a table of named cases, one per hostile body; a case is a few lines and they
//! read best together.

use serde_json::{Value, json};

use crate::case::{Case, RAW, TYPED, first_path, first_path_under, raw, typed, with, with_raw};
use crate::http::{post_json, post_ndjson};

/// Nesting depth of the deep-nesting cases: far past serde_json's recursion limit (128) and
/// deep enough to overflow a thread's stack if anything recursed per level.
const DEPTH: usize = 100_000;

fn deep_arrays() -> String {
    format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH))
}

fn deep_objects() -> String {
    format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH))
}

/// Not valid JSON: 400 with line and column, nothing stored.
fn malformed(name: &str, body: impl AsRef<[u8]>, fragments: &[&'static str]) -> Case {
    let mut all = vec!["the body is not valid JSON"];
    all.extend_from_slice(fragments);
    Case::send(name, post_json(RAW, body))
        .refused(400, &all)
        .check(|a| {
            let body = a.json();
            if body["line"].is_u64() && body["column"].is_u64() {
                Ok(())
            } else {
                Err("no line and column in the answer".into())
            }
        })
}

/// Valid JSON but invalid records: 400 listing them, nothing stored.
fn invalid(name: &str, request: Vec<u8>, fragments: &[&'static str]) -> Case {
    let mut all = vec!["not valid", "nothing was written"];
    all.extend_from_slice(fragments);
    Case::send(name, request).refused(400, &all)
}

pub fn cases() -> Vec<Case> {
    vec![
        // Malformed JSON.
        malformed(
            "malformed: missing colon",
            r#"{"id" "m1", "value": 1}"#,
            &["expected `:`"],
        ),
        malformed(
            "malformed: single quotes",
            "{'id': 'm2', 'value': 1}",
            &["key must be a string"],
        ),
        malformed(
            "malformed: trailing comma in an object",
            r#"{"id":"m3","value":1,}"#,
            &["key must be a string"],
        ),
        malformed("malformed: bare word", "hello", &["expected value"]),
        malformed(
            "malformed: two concatenated objects",
            r#"{"id":"m5","value":1}{"id":"m5b","value":2}"#,
            &["trailing characters"],
        ),
        malformed(
            "malformed: comment",
            r#"/* c */ {"id":"m6","value":1}"#,
            &["expected value"],
        ),
        malformed(
            "malformed: raw tab inside a string",
            "{\"id\":\"m\t7\",\"value\":1}",
            &["control character"],
        ),
        malformed(
            "malformed: invalid escape",
            r#"{"id":"m\q8","value":1}"#,
            &["invalid escape"],
        ),
        malformed(
            "malformed: array with a trailing comma",
            r#"[{"id":"m9","value":1},]"#,
            &["trailing comma"],
        ),
        Case::send(
            "byte order mark before the JSON is ignored",
            post_json(RAW, b"\xEF\xBB\xBF{\"id\":\"bom\",\"value\":1}"),
        )
        .stores_raw(vec![raw("bom", 1.0)]),
        // Truncated bodies (the connection stays open: the body just ends early).
        malformed(
            "truncated: object cut inside a key",
            r#"{"id":"t1","val"#,
            &["EOF"],
        ),
        malformed(
            "truncated: array cut inside a record",
            r#"[{"id":"t2","value":1},{"id":"t2b""#,
            &["EOF"],
        ),
        malformed("truncated: only an opening brace", "{", &["EOF"]),
        // Wrong types.
        invalid(
            "wrong type: string for a float",
            post_json(RAW, r#"{"id":"w1","value":"12"}"#),
            &["invalid type: string"],
        )
        .check(|a| first_path(a, ".value")),
        invalid(
            "wrong type: number for a string",
            post_json(RAW, r#"{"id":2,"value":1}"#),
            &["invalid type: integer"],
        )
        .check(|a| first_path(a, ".id")),
        invalid(
            "wrong type: bool for a float",
            post_json(RAW, r#"{"id":"w3","value":true}"#),
            &["invalid type: boolean"],
        )
        .check(|a| first_path(a, ".value")),
        invalid(
            "wrong type: object for a float",
            post_json(RAW, r#"{"id":"w4","value":{"v":1}}"#),
            &["invalid type: map"],
        )
        .check(|a| first_path(a, ".value")),
        invalid(
            "wrong type: array for a string",
            post_json(RAW, r#"{"id":["w5"],"value":1}"#),
            &["invalid type: sequence"],
        )
        .check(|a| first_path(a, ".id")),
        invalid(
            "wrong type: top-level number",
            post_json(RAW, "42"),
            &["a record must be a JSON object, not a number"],
        )
        .check(|a| first_path(a, ".")),
        invalid(
            "wrong type: top-level string",
            post_json(RAW, r#""w7""#),
            &["a record must be a JSON object, not a string"],
        ),
        invalid(
            "wrong type: top-level null",
            post_json(RAW, "null"),
            &["a record must be a JSON object, not null"],
        ),
        invalid(
            "wrong type: array of scalars",
            post_json(RAW, r#"[1,"two",null,true]"#),
            &[
                "4 of 4 records",
                "not a number",
                "not a string",
                "not null",
                "not a boolean",
            ],
        ),
        invalid(
            "wrong type: a record as a positional array",
            post_json(RAW, r#"[["w9", 1.0]]"#),
            &["a record must be a JSON object, not an array"],
        ),
        invalid(
            "wrong type: string array instead of tags",
            post_json(TYPED, with(typed("w10"), "tags", json!("a,b")).to_string()),
            &["invalid type: string"],
        )
        .check(|a| first_path(a, ".tags")),
        // Integer overflow and integer fields given other numbers.
        invalid(
            "overflow: u8 given 256",
            post_json(TYPED, with(typed("o1"), "small", json!(256)).to_string()),
            &["256", "u8"],
        )
        .check(|a| first_path(a, ".small")),
        invalid(
            "overflow: u8 given -1",
            post_json(TYPED, with(typed("o2"), "small", json!(-1)).to_string()),
            &["-1", "u8"],
        )
        .check(|a| first_path(a, ".small")),
        invalid(
            "overflow: i64 given 2^63",
            post_json(TYPED, with_raw(&typed("o3"), "big", "9223372036854775808")),
            &["i64"],
        )
        .check(|a| first_path(a, ".big")),
        invalid(
            "overflow: i64 given -2^63-1",
            post_json(TYPED, with_raw(&typed("o4"), "big", "-9223372036854775809")),
            &["i64"],
        )
        .check(|a| first_path(a, ".big")),
        invalid(
            "overflow: u8 given 1.5",
            post_json(TYPED, with_raw(&typed("o5"), "small", "1.5")),
            &["floating point"],
        )
        .check(|a| first_path(a, ".small")),
        invalid(
            "overflow: u8 given 1e2 (exponent)",
            post_json(TYPED, with_raw(&typed("o6"), "small", "1e2")),
            &["floating point"],
        )
        .check(|a| first_path(a, ".small")),
        invalid(
            "overflow: f64 given 1e400",
            post_json(TYPED, with_raw(&typed("o7"), "ratio", "1e400")),
            &["number out of range"],
        )
        .check(|a| first_path(a, ".ratio")),
        invalid(
            "overflow: f32 given 1e39",
            post_json(TYPED, with_raw(&typed("o8"), "narrow", "1e39")),
            &["out of range for f32"],
        )
        .check(|a| first_path(a, ".narrow")),
        invalid(
            "overflow: f32 given -1e39",
            post_json(TYPED, with_raw(&typed("o9"), "narrow", "-1e39")),
            &["out of range for f32"],
        )
        .check(|a| first_path(a, ".narrow")),
        Case::send(
            "accepted: exponent for a float",
            post_json(TYPED, with_raw(&typed("o10"), "ratio", "1.5e3")),
        )
        .stores_typed(vec![with(typed("o10"), "ratio", json!(1500.0))]),
        Case::send(
            "accepted: integer extremes",
            post_json(
                TYPED,
                with(
                    with(typed("o11"), "small", json!(255)),
                    "big",
                    json!(i64::MIN),
                )
                .to_string(),
            ),
        )
        .stores_typed(vec![with(
            with(typed("o11"), "small", json!(255)),
            "big",
            json!(i64::MIN),
        )]),
        // NaN and infinities are not JSON.
        malformed(
            "non-finite: NaN literal",
            r#"{"id":"n1","value":NaN}"#,
            &["expected value"],
        ),
        malformed(
            "non-finite: Infinity literal",
            r#"{"id":"n2","value":Infinity}"#,
            &["expected value"],
        ),
        malformed(
            "non-finite: -Infinity literal",
            r#"{"id":"n3","value":-Infinity}"#,
            &["invalid number"],
        ),
        invalid(
            "non-finite: \"NaN\" string for a float",
            post_json(RAW, r#"{"id":"n4","value":"NaN"}"#),
            &["invalid type: string"],
        )
        .check(|a| first_path(a, ".value")),
        // Missing and null fields.
        invalid(
            "missing: required float",
            post_json(RAW, r#"{"id":"ms1"}"#),
            &["missing field `value`"],
        )
        .check(|a| first_path(a, ".")),
        invalid(
            "missing: empty object",
            post_json(RAW, "{}"),
            &["missing field `id`"],
        ),
        invalid(
            "null: required float",
            post_json(RAW, r#"{"id":"nl1","value":null}"#),
            &["invalid type: null"],
        )
        .check(|a| first_path(a, ".value")),
        invalid(
            "null: required string",
            post_json(RAW, r#"{"id":null,"value":1}"#),
            &["invalid type: null"],
        )
        .check(|a| first_path(a, ".id")),
        Case::send(
            "accepted: null in an Option field",
            post_json(TYPED, with(typed("nl3"), "note", Value::Null).to_string()),
        )
        .stores_typed(vec![with(typed("nl3"), "note", Value::Null)]),
        Case::send(
            "accepted: Option field left out",
            post_json(TYPED, {
                let mut record = typed("nl4");
                record.as_object_mut().unwrap().remove("note");
                record.to_string()
            }),
        )
        .stores_typed(vec![with(typed("nl4"), "note", Value::Null)]),
        // Unknown and duplicate fields.
        Case::send(
            "unknown fields are ignored and not stored",
            post_json(
                RAW,
                r#"{"id":"u1","value":1,"extra":"zzz","nested":{"a":[1,{"b":null}]}}"#,
            ),
        )
        .stores_raw(vec![raw("u1", 1.0)]),
        Case::send(
            "unknown field with a lone surrogate is ignored",
            post_json(RAW, r#"{"id":"u2","value":2,"extra":"\ud800"}"#),
        )
        .stores_raw(vec![raw("u2", 2.0)]),
        invalid(
            "duplicate key",
            post_json(RAW, r#"{"id":"d1","id":"d2","value":1}"#),
            &["duplicate field `id`"],
        ),
        // Deep nesting: an error, never a stack overflow.
        invalid(
            "nesting: 100k-deep arrays as the body",
            post_json(RAW, deep_arrays()),
            &["1 of 1 records", "not an array"],
        ),
        invalid(
            "nesting: 100k-deep objects as the body",
            post_json(RAW, deep_objects()),
            &["missing field `id`"],
        ),
        invalid(
            "nesting: 100k deep inside a JSON field",
            post_json(TYPED, with_raw(&typed("x1"), "payload", &deep_arrays())),
            &["recursion limit exceeded"],
        )
        .check(|a| first_path_under(a, ".payload[0]")),
        Case::send(
            "nesting: 100k deep inside an unknown field is ignored",
            post_json(
                RAW,
                format!(r#"{{"id":"x2","value":1,"extra":{}}}"#, deep_arrays()),
            ),
        )
        .stores_raw(vec![raw("x2", 1.0)]),
        invalid(
            "nesting: 100k deep on an NDJSON line",
            post_ndjson(RAW, format!("{}\n{}\n", raw("x3", 1.0), deep_objects())),
            &["1 of 2 records"],
        ),
        // Huge arrays.
        invalid(
            "huge array: 1M tiny elements",
            post_json(RAW, format!("[{}0]", "0,".repeat(999_999))),
            &["1000000 of 1000000 records", "the first 1000 are listed"],
        )
        .check(|a| {
            let body = a.json();
            if body["invalid"] == 1_000_000
                && body["unlisted"] == 999_000
                && body["records"].as_array().is_some_and(|r| r.len() == 1000)
            {
                Ok(())
            } else {
                Err("expected 1000000 invalid, 1000 listed, 999000 unlisted".into())
            }
        }),
        {
            let records: Vec<Value> = (0..2000)
                .map(|i| raw(&format!("batch-{i:04}"), f64::from(i)))
                .collect();
            Case::send(
                "large batch: 2000 records in one array",
                post_json(RAW, Value::Array(records.clone()).to_string()),
            )
            .stores_raw(records)
        },
        // Not UTF-8.
        malformed(
            "invalid UTF-8 inside a string",
            b"{\"id\":\"bad\xff\xfe\",\"value\":1}",
            &["invalid unicode code point"],
        ),
        malformed(
            "invalid UTF-8 after the JSON",
            b"{\"id\":\"u8b\",\"value\":1}\xff",
            &["trailing characters"],
        ),
        malformed(
            "overlong UTF-8 encoding of `/`",
            b"{\"id\":\"\xc0\xaf\",\"value\":1}",
            &["invalid unicode code point"],
        ),
        malformed(
            "UTF-16 body",
            b"{\0\"\0i\0d\0\"\0:\0\"\0x\0\"\0}\0",
            &["key must be a string"],
        ),
        invalid(
            "invalid UTF-8 in an NDJSON line",
            post_ndjson(
                RAW,
                b"{\"id\":\"u8d\",\"value\":1}\n{\"id\":\"\xff\",\"value\":1}\n",
            ),
            &["1 of 2 records"],
        ),
        // No records.
        Case::send("empty body", post_json(RAW, "")).refused(400, &["no records"]),
        Case::send("whitespace body", post_json(RAW, " \r\n\t ")).refused(400, &["no records"]),
        Case::send("empty array", post_json(RAW, "[]")).refused(400, &["no records"]),
        Case::send(
            "NDJSON with only blank lines",
            post_ndjson(RAW, "\n \n\r\n"),
        )
        .refused(400, &["no records"]),
        // One bad record spoils the whole request.
        invalid(
            "array: one bad record among good ones",
            post_json(
                RAW,
                json!([raw("b1", 1.0), raw("b2", 2.0), {"id": "b3"}]).to_string(),
            ),
            &["1 of 3 records"],
        ),
        invalid(
            "NDJSON: one bad line among good ones",
            post_ndjson(
                RAW,
                format!("{}\n{{\"id\":\"b5\"\n{}\n", raw("b4", 1.0), raw("b6", 1.0)),
            ),
            &["1 of 3 records"],
        )
        .check(|a| {
            let first = &a.json()["records"][0];
            if first["line"] == 2 && first["index"] == 1 {
                Ok(())
            } else {
                Err(format!(
                    "expected the bad record at line 2, index 1: {first}"
                ))
            }
        }),
        invalid(
            "NDJSON: an array on a line",
            post_ndjson(RAW, format!("[{}]\n", raw("b7", 1.0))),
            &["not an array"],
        ),
        Case::send(
            "NDJSON: CRLF line endings",
            post_ndjson(RAW, format!("{}\r\n{}\r\n", raw("c1", 1.0), raw("c2", 2.0))),
        )
        .stores_raw(vec![raw("c1", 1.0), raw("c2", 2.0)]),
        // Strings that look like SQL, and unusual Unicode, are stored literally.
        {
            let ids = [
                "'); DROP TABLE local.final_stream; --",
                "' OR '1'='1",
                "\\'; SELECT 1; --",
                "Robert'); DROP TABLE Students;--",
                "x\\ny\ttab\"quote`backtick`",
                "1; INSERT INTO local.final_stream VALUES ('forged', 0, now())",
            ];
            let records: Vec<Value> = ids.iter().map(|id| raw(id, 1.0)).collect();
            Case::send(
                "SQL-looking strings are stored literally",
                post_json(RAW, Value::Array(records.clone()).to_string()),
            )
            .stores_raw(records)
        },
        {
            let record = with(
                typed("sql-in-text"),
                "text",
                json!("'; DROP DATABASE local; SELECT '\\\0\u{0}"),
            );
            Case::send(
                "SQL-looking text with NUL and backslashes in a String column",
                post_json(TYPED, record.to_string()),
            )
            .stores_typed(vec![record])
        },
        {
            let ids = [
                "rtl-\u{202e}gnp.exe",
                "zwj-\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}",
                "combining-e\u{301}\u{301}\u{301}",
                "bom-inside-\u{feff}",
                "separators-\u{2028}\u{2029}",
                "nul-\u{0}-inside",
                "astral-\u{1f600}-\u{10ffff}",
            ];
            let records: Vec<Value> = ids.iter().map(|id| raw(id, 1.0)).collect();
            Case::send(
                "unusual Unicode is stored literally",
                post_json(RAW, Value::Array(records.clone()).to_string()),
            )
            .stores_raw(records)
        },
        Case::send(
            "escaped surrogate pair becomes one character",
            post_json(RAW, r#"{"id":"pair-\ud83d\ude00","value":1}"#),
        )
        .stores_raw(vec![raw("pair-\u{1f600}", 1.0)]),
        invalid(
            "lone high surrogate escape",
            post_json(RAW, r#"{"id":"s1-\ud800","value":1}"#),
            &["hex escape"],
        )
        .check(|a| first_path(a, ".id")),
        invalid(
            "lone low surrogate escape",
            post_json(RAW, r#"{"id":"s2-\udc00","value":1}"#),
            &["surrogate"],
        )
        .check(|a| first_path(a, ".id")),
        invalid(
            "high surrogate followed by a non-surrogate",
            post_json(RAW, r#"{"id":"s3-\ud800\u0041","value":1}"#),
            &["surrogate"],
        ),
    ]
}

/// A 5 MiB string inside the 10 MiB body limit is accepted and stored whole.
pub fn enormous_cases() -> Vec<Case> {
    let text: String = "0123456789abcdef".repeat(5 * 1024 * 1024 / 16);
    let record = with(typed("enormous-string"), "text", json!(text));
    vec![
        Case::send(
            "enormous string: 5 MiB in one field",
            post_json(TYPED, record.to_string()),
        )
        .stores_typed(vec![record]),
    ]
}
