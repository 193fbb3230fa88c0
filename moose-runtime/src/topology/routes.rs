//! Ingest routes: which paths under `/ingest/` each ingest API answers.
//!
//! - An API is served at its custom `path`, or else at `<name>/<version>` when versioned and
//!   `<name>` when not (two APIs declared at one path are refused when declared).
//! - `/ingest/<name>` also reaches the *latest* version of `<name>` when no API is declared
//!   at that path itself: versions compare segment by segment (split at `.` and `_`),
//!   numerically where both segments are numbers (`1.10` is later than `1.9`), as text
//!   otherwise. APIs with a custom path take no part.

use std::cmp::Ordering;

use crate::graph::IngestApiNode;

/// The paths (after `/ingest/`) each of `apis` answers, in order: its declared path first,
/// then `<name>` when it is the latest version of that name and nothing else is there.
pub(super) fn route_paths(apis: &[IngestApiNode]) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = apis.iter().map(|api| vec![api.path()]).collect();
    let declared: Vec<String> = apis.iter().map(IngestApiNode::path).collect();
    for (i, api) in apis.iter().enumerate() {
        let Some(version) = api.version.as_deref() else {
            continue;
        };
        if api.path.is_some() || declared.contains(&api.name) {
            continue;
        }
        let latest = apis
            .iter()
            .filter(|other| other.name == api.name && other.path.is_none())
            .filter_map(|other| other.version.as_deref())
            .all(|other| compare_versions(version, other) != Ordering::Less);
        if latest {
            paths[i].push(api.name.clone());
        }
    }
    paths
}

/// Orders two versions segment by segment (split at `.` and `_`): numerically where both
/// are numbers, as text otherwise; a version with more segments is later when the shared
/// ones are equal (`1.2.1` after `1.2`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let segments = |v: &'_ str| v.split(['.', '_']).map(str::to_owned).collect::<Vec<_>>();
    let (a, b) = (segments(a), segments(b));
    for (x, y) in a.iter().zip(&b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::InvalidRecordPolicy;

    fn api(name: &str, version: Option<&str>, path: Option<&str>) -> IngestApiNode {
        IngestApiNode {
            name: name.into(),
            version: version.map(Into::into),
            path: path.map(Into::into),
            stream: 0,
            dead_letter_queue: None,
            invalid_records: InvalidRecordPolicy::Reject,
        }
    }

    #[test]
    fn versions_compare_numerically_segment_by_segment() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(compare_versions("1.2.1", "1.2"), Ordering::Greater);
        assert_eq!(compare_versions("1_2", "1.2"), Ordering::Equal);
        assert_eq!(compare_versions("beta", "alpha"), Ordering::Greater);
    }

    #[test]
    fn the_unversioned_path_reaches_the_latest_version_unless_declared() {
        let apis = [
            api("events", Some("1.9"), None),
            api("events", Some("1.10"), None),
            api("events", Some("9"), Some("legacy/events")),
            api("orders", Some("1"), None),
            api("orders", None, None),
        ];
        assert_eq!(
            route_paths(&apis),
            [
                vec!["events/1.9"],
                vec!["events/1.10", "events"],
                vec!["legacy/events"],
                vec!["orders/1"],
                vec!["orders"],
            ]
        );
    }
}
