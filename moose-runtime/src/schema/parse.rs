//! Reading ClickHouse type names back into [`ColumnType`]s: what `system.columns.type`
//! reports, so lifecycle management can compare the server's tables with the code.
//!
//! Over 400 lines: a parser for every type name a server may report, with its tests.
//!
//! Servers spell types their own way (`Decimal(18, 4)` for `Decimal(18,4)`, `Decimal64(4)`
//! on some versions, `DateTime` without a time zone); parsing yields one comparable form.
//! Types moose does not model itself (`DateTime('Europe/Berlin')`, `DateTime` without a zone)
//! parse to [`ColumnType::Custom`] with the SQL as written and the encoding of the nearest
//! modelled type; anything else is a [`ParseTypeError`].

use std::str::FromStr;

use super::{ColumnType, EnumWidth};

/// A type name moose cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read ClickHouse type `{input}`: {message}")]
pub struct ParseTypeError {
    /// The type as given.
    pub input: String,
    /// What is wrong, and where.
    pub message: String,
}

impl FromStr for ColumnType {
    type Err = ParseTypeError;

    /// Parses a type as ClickHouse prints it in `system.columns`.
    ///
    /// ```
    /// use moose_runtime::schema::ColumnType;
    ///
    /// let ty: ColumnType = "Array(Nullable(Decimal(18,4)))".parse()?;
    /// assert_eq!(ty.to_string(), "Array(Nullable(Decimal(18, 4)))");
    /// # Ok::<(), moose_runtime::schema::ParseTypeError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser {
            input: s,
            bytes: s.as_bytes(),
            pos: 0,
        };
        let ty = parser.ty()?;
        parser.skip_space();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

struct Parser<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> ParseTypeError {
        ParseTypeError {
            input: self.input.to_owned(),
            message: format!("{message} at byte {}", self.pos),
        }
    }

    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), ParseTypeError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    /// An identifier: letters, digits and `_`, or a backquoted name.
    fn ident(&mut self) -> Result<String, ParseTypeError> {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b'`') {
            return self.quoted(b'`');
        }
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a type name"));
        }
        Ok(self.input[start..self.pos].to_owned())
    }

    /// A string quoted with `quote`, backslash escapes resolved.
    fn quoted(&mut self, quote: u8) -> Result<String, ParseTypeError> {
        self.skip_space();
        if self.bytes.get(self.pos) != Some(&quote) {
            return Err(self.error("expected a quoted string"));
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated quoted string")),
                Some(&b) if b == quote => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = *self
                        .bytes
                        .get(self.pos + 1)
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    out.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'0' => 0,
                        other => other,
                    });
                    self.pos += 2;
                }
                Some(&b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error("quoted string is not UTF-8"))
    }

    fn number(&mut self) -> Result<i64, ParseTypeError> {
        self.skip_space();
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.input[start..self.pos]
            .parse()
            .map_err(|_| self.error("expected a number"))
    }

    fn small<T: TryFrom<i64>>(&mut self) -> Result<T, ParseTypeError> {
        let n = self.number()?;
        T::try_from(n).map_err(|_| self.error(&format!("{n} is out of range")))
    }

    fn inner(&mut self) -> Result<Box<ColumnType>, ParseTypeError> {
        self.expect(b'(')?;
        let ty = self.ty()?;
        self.expect(b')')?;
        Ok(Box::new(ty))
    }

    fn ty(&mut self) -> Result<ColumnType, ParseTypeError> {
        use ColumnType as T;
        let start = self.pos;
        let name = self.ident()?;
        Ok(match name.as_str() {
            "Bool" | "Boolean" => T::Bool,
            "Int8" => T::Int8,
            "Int16" => T::Int16,
            "Int32" => T::Int32,
            "Int64" => T::Int64,
            "Int128" => T::Int128,
            "UInt8" => T::UInt8,
            "UInt16" => T::UInt16,
            "UInt32" => T::UInt32,
            "UInt64" => T::UInt64,
            "UInt128" => T::UInt128,
            "Float32" => T::Float32,
            "Float64" => T::Float64,
            "String" => T::String,
            "UUID" => T::Uuid,
            "Date" => T::Date,
            "Date32" => T::Date32,
            "IPv4" => T::IPv4,
            "IPv6" => T::IPv6,
            "JSON" => {
                if self.peek() == Some(b'(') {
                    return Err(self.error("JSON with type hints is not a type moose writes"));
                }
                T::Json
            }
            "FixedString" => {
                self.expect(b'(')?;
                let n = self.small()?;
                self.expect(b')')?;
                T::FixedString(n)
            }
            "DateTime" => {
                let zone = if self.eat(b'(') {
                    let zone = self.quoted(b'\'')?;
                    self.expect(b')')?;
                    Some(zone)
                } else {
                    None
                };
                match zone.as_deref() {
                    Some("UTC") => T::DateTime,
                    _ => self.custom(start, T::DateTime),
                }
            }
            "DateTime64" => {
                self.expect(b'(')?;
                let precision = self.small()?;
                let zone = if self.eat(b',') {
                    Some(self.quoted(b'\'')?)
                } else {
                    None
                };
                self.expect(b')')?;
                match zone.as_deref() {
                    Some("UTC") => T::DateTime64 { precision },
                    _ => self.custom(start, T::DateTime64 { precision }),
                }
            }
            "Decimal" => {
                self.expect(b'(')?;
                let precision = self.small()?;
                let scale = if self.eat(b',') { self.small()? } else { 0 };
                self.expect(b')')?;
                T::Decimal { precision, scale }
            }
            "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                self.expect(b'(')?;
                let scale = self.small()?;
                self.expect(b')')?;
                let precision = match name.as_str() {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                T::Decimal { precision, scale }
            }
            "Enum8" | "Enum16" => {
                let width = if name == "Enum8" {
                    EnumWidth::Enum8
                } else {
                    EnumWidth::Enum16
                };
                self.expect(b'(')?;
                let mut variants = Vec::new();
                loop {
                    let label = self.quoted(b'\'')?;
                    self.expect(b'=')?;
                    variants.push((label, self.small()?));
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b')')?;
                T::Enum { width, variants }
            }
            "Nullable" => T::Nullable(self.inner()?),
            "Array" => T::Array(self.inner()?),
            "LowCardinality" => T::LowCardinality(self.inner()?),
            "Map" => {
                self.expect(b'(')?;
                let key = self.ty()?;
                self.expect(b',')?;
                let value = self.ty()?;
                self.expect(b')')?;
                T::Map(Box::new(key), Box::new(value))
            }
            "Tuple" => {
                self.expect(b'(')?;
                let mut fields = Vec::new();
                loop {
                    fields.push(self.tuple_element()?);
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b')')?;
                T::Tuple(fields)
            }
            other => {
                self.pos = start;
                return Err(self.error(&format!("`{other}` is not a type moose reads")));
            }
        })
    }

    /// `name Type` or `Type`: a name is followed by another identifier, a type is not.
    fn tuple_element(&mut self) -> Result<(String, ColumnType), ParseTypeError> {
        let start = self.pos;
        let first = self.ident()?;
        let after_name = self.pos;
        let next = self.peek();
        let named =
            next.is_some_and(|b| b.is_ascii_alphabetic() || b == b'`') && self.pos > after_name;
        if named {
            Ok((first, self.ty()?))
        } else {
            self.pos = start;
            Ok((String::new(), self.ty()?))
        }
    }

    /// The text parsed since `start`, kept as written, encoded like `encode_as`.
    fn custom(&self, start: usize, encode_as: ColumnType) -> ColumnType {
        ColumnType::Custom {
            sql: self.input[start..self.pos].trim().to_owned(),
            encode_as: Box::new(encode_as),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(server: &str) -> String {
        server
            .parse::<ColumnType>()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    #[test]
    fn what_moose_renders_reads_back_the_same() {
        for ty in [
            "Bool",
            "Int8",
            "UInt128",
            "Float64",
            "String",
            "FixedString(16)",
            "Date32",
            "DateTime('UTC')",
            "DateTime64(3, 'UTC')",
            "UUID",
            "Decimal(18, 4)",
            "IPv6",
            "JSON",
            "Enum8('a' = 1, 'it\\'s' = 2, 'neg' = -3)",
            "Enum16('big' = 1000)",
            "Nullable(String)",
            "Array(Array(Nullable(Int32)))",
            "Map(String, Array(UInt64))",
            "Tuple(`city` String, `zip` Nullable(UInt32))",
            "Tuple(String, Nullable(UInt32))",
            "LowCardinality(Nullable(String))",
            "Array(LowCardinality(String))",
        ] {
            assert_eq!(round_trip(ty), ty);
        }
    }

    #[test]
    fn server_spellings_normalise() {
        assert_eq!(round_trip("Decimal(18,4)"), "Decimal(18, 4)");
        assert_eq!(round_trip("Decimal64(4)"), "Decimal(18, 4)");
        assert_eq!(round_trip(" Nullable( String ) "), "Nullable(String)");
        assert_eq!(round_trip("DateTime64(3,'UTC')"), "DateTime64(3, 'UTC')");
        assert_eq!(
            round_trip("Tuple(city String, zip Nullable(UInt32))"),
            "Tuple(`city` String, `zip` Nullable(UInt32))"
        );
        assert_eq!(
            round_trip("Enum8('a'=1,'b c'=2)"),
            "Enum8('a' = 1, 'b c' = 2)"
        );
    }

    #[test]
    fn zones_other_than_utc_are_kept_as_written() {
        let ty: ColumnType = "DateTime('Europe/Berlin')".parse().unwrap();
        assert_eq!(ty.to_string(), "DateTime('Europe/Berlin')");
        assert_eq!(ty.physical(), &ColumnType::DateTime);
        let ty: ColumnType = "DateTime".parse().unwrap();
        assert_eq!(ty.to_string(), "DateTime");
        assert_eq!(ty.physical(), &ColumnType::DateTime);
        let ty: ColumnType = "DateTime64(6)".parse().unwrap();
        assert_eq!(ty.physical(), &ColumnType::DateTime64 { precision: 6 });
    }

    #[test]
    fn unknown_types_are_errors_that_name_the_type() {
        let e = "AggregateFunction(sum, UInt64)"
            .parse::<ColumnType>()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("`AggregateFunction` is not a type moose reads"),
            "{e}"
        );
        assert!("Nullable(String".parse::<ColumnType>().is_err());
        assert!("String junk".parse::<ColumnType>().is_err());
    }
}
