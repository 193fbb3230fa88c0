//! Safe quoting of ClickHouse identifiers and string literals.

/// Quotes an identifier with backticks, escaping backslashes and backticks, so any column or
/// table name (spaces, dots, quotes, SQL keywords) is one identifier and never SQL.
pub fn quote_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            other => out.push(other),
        }
    }
    out.push('`');
    out
}

/// Quotes a string literal with single quotes, escaping backslashes and quotes.
pub fn quote_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_cannot_break_out_of_their_quotes() {
        assert_eq!(quote_identifier("plain"), "`plain`");
        assert_eq!(
            quote_identifier("a`; DROP TABLE x; --"),
            "`a\\`; DROP TABLE x; --`"
        );
        assert_eq!(quote_identifier("back\\slash"), "`back\\\\slash`");
    }

    #[test]
    fn strings_escape_quotes_and_control_characters() {
        assert_eq!(quote_string("it's"), "'it\\'s'");
        assert_eq!(quote_string("a\\'b"), "'a\\\\\\'b'");
        assert_eq!(quote_string("line\nbreak"), "'line\\nbreak'");
    }
}
