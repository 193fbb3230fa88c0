//! What a ClickHouse server can store, derived from `SELECT version()`.

use std::fmt;
use std::str::FromStr;

/// A ClickHouse server version, `major.minor.patch` (build numbers are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// Year-based major version (`18`, `24`, `26`).
    pub major: u32,
    /// Minor version within the year.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl ServerVersion {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A `version()` string that is not `major.minor[.patch[.build]]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read ClickHouse version {0:?}: expected `major.minor.patch`, as `SELECT version()` prints"
)]
pub struct ParseVersionError(String);

impl FromStr for ServerVersion {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseVersionError(s.to_owned());
        let mut parts = s.trim().split('.');
        let mut next = |required: bool| -> Result<u32, ParseVersionError> {
            match parts.next() {
                Some(p) => p.parse().map_err(|_| bad()),
                None if required => Err(bad()),
                None => Ok(0),
            }
        };
        Ok(ServerVersion::new(next(true)?, next(true)?, next(false)?))
    }
}

/// A type or clause that not every ClickHouse server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// The `Bool` type.
    Bool,
    /// The `DateTime64` type.
    DateTime64,
    /// The `Date32` type.
    Date32,
    /// The `Map` type.
    Map,
    /// The `JSON` type (the current implementation, not the 22.x object type).
    Json,
    /// The `IPv4` / `IPv6` types.
    IpAddress,
    /// `Int128`, `Int256`.
    Int128,
    /// `UInt128`.
    UInt128,
    /// `Decimal` with precision over 38 (`Decimal256`).
    Decimal256,
    /// Named elements in `Tuple(name T, ...)`.
    NamedTuple,
    /// `LowCardinality` without `allow_experimental_low_cardinality_type`.
    LowCardinality,
    /// Table `TTL` clauses.
    Ttl,
    /// Column `CODEC(...)` clauses.
    Codec,
    /// The `insert_deduplication_token` insert setting, and with it deduplication of
    /// non-replicated MergeTree tables (`non_replicated_deduplication_window`): a retried
    /// insert carrying the same token is skipped.
    InsertDeduplicationToken,
}

impl Feature {
    /// The first ClickHouse release where the feature works without experimental settings.
    pub fn min_version(self) -> ServerVersion {
        match self {
            Feature::Bool => ServerVersion::new(21, 12, 0),
            Feature::DateTime64 => ServerVersion::new(20, 1, 0),
            Feature::Date32 => ServerVersion::new(21, 9, 0),
            Feature::Map => ServerVersion::new(21, 8, 0),
            Feature::Json => ServerVersion::new(25, 3, 0),
            Feature::IpAddress => ServerVersion::new(19, 3, 0),
            Feature::Int128 => ServerVersion::new(21, 1, 0),
            Feature::UInt128 => ServerVersion::new(21, 6, 0),
            Feature::Decimal256 => ServerVersion::new(21, 1, 0),
            Feature::NamedTuple => ServerVersion::new(20, 10, 0),
            Feature::LowCardinality => ServerVersion::new(19, 0, 0),
            Feature::Ttl => ServerVersion::new(19, 6, 0),
            Feature::Codec => ServerVersion::new(19, 1, 0),
            Feature::InsertDeduplicationToken => ServerVersion::new(22, 2, 0),
        }
    }

    /// How the feature is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Bool => "the Bool type",
            Feature::DateTime64 => "the DateTime64 type",
            Feature::Date32 => "the Date32 type",
            Feature::Map => "the Map type",
            Feature::Json => "the JSON type",
            Feature::IpAddress => "the IPv4/IPv6 types",
            Feature::Int128 => "the Int128 type",
            Feature::UInt128 => "the UInt128 type",
            Feature::Decimal256 => "Decimal with precision over 38",
            Feature::NamedTuple => "named Tuple elements",
            Feature::LowCardinality => "LowCardinality",
            Feature::Ttl => "TTL",
            Feature::Codec => "column CODEC",
            Feature::InsertDeduplicationToken => "insert deduplication tokens",
        }
    }
}

/// What one ClickHouse server supports; DDL rendering and row encoding follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickHouseCapabilities {
    version: ServerVersion,
}

impl ClickHouseCapabilities {
    /// A recent server that has every feature this crate can use.
    pub const MODERN: Self = Self::for_version(ServerVersion::new(26, 1, 0));

    /// Capabilities of a server that reported this version.
    pub const fn for_version(version: ServerVersion) -> Self {
        Self { version }
    }

    /// The server's version.
    pub fn version(&self) -> ServerVersion {
        self.version
    }

    /// Whether the server has `feature`.
    pub fn supports(&self, feature: Feature) -> bool {
        self.version >= feature.min_version()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_versions_servers_print() {
        assert_eq!("18.16.1".parse(), Ok(ServerVersion::new(18, 16, 1)));
        assert_eq!("26.1.2.11".parse(), Ok(ServerVersion::new(26, 1, 2)));
        assert_eq!("24.8".parse(), Ok(ServerVersion::new(24, 8, 0)));
        assert!("banana".parse::<ServerVersion>().is_err());
        assert!("18".parse::<ServerVersion>().is_err());
    }

    #[test]
    fn debian_18_16_lacks_the_modern_types() {
        let old = ClickHouseCapabilities::for_version("18.16.1".parse().unwrap());
        for f in [
            Feature::Bool,
            Feature::DateTime64,
            Feature::Date32,
            Feature::Map,
            Feature::Json,
        ] {
            assert!(!old.supports(f), "{f:?}");
        }
        assert!(ClickHouseCapabilities::MODERN.supports(Feature::Json));
    }

    #[test]
    fn insert_deduplication_tokens_start_with_22_2() {
        let caps = |v: &str| ClickHouseCapabilities::for_version(v.parse().unwrap());
        assert!(!caps("18.16.1").supports(Feature::InsertDeduplicationToken));
        assert!(!caps("22.1.3").supports(Feature::InsertDeduplicationToken));
        assert!(caps("22.2.2").supports(Feature::InsertDeduplicationToken));
        assert!(ClickHouseCapabilities::MODERN.supports(Feature::InsertDeduplicationToken));
    }
}
