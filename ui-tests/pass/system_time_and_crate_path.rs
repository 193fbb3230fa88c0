use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moose::prelude::*;
use moose::schema::ColumnValue;

/// A facade that re-exports moose under another path.
mod facade {
    pub use moose as engine;
}

#[data_model(crate = "crate::facade::engine")]
pub struct Visit {
    #[key]
    pub page: String,
    pub at: SystemTime,
    #[moose(precision = 0)]
    pub left_at: Option<SystemTime>,
    pub scores: Vec<f32>,
}

fn main() {
    let at = UNIX_EPOCH + Duration::from_nanos(1_795_546_767_123_456_789);
    let visit = Visit {
        page: "/".into(),
        at,
        left_at: Some(at),
        scores: vec![1.0, f32::INFINITY],
    };
    assert_eq!(
        serde_json::to_string(&visit).unwrap(),
        r#"{"page":"/","at":"2026-11-24T18:59:27.123Z","left_at":"2026-11-24T18:59:27Z","scores":[1.0,null]}"#
    );
    let found = visit.first_non_finite().unwrap();
    assert_eq!((found.path.as_str(), found.rust_type), (".scores[1]", "f32"));

    // A missing `Option<SystemTime>` is `None`, as for any `Option`.
    let read: Visit =
        serde_json::from_str(r#"{"page":"/","at":"2026-11-24T20:59:27.5+02:00","scores":[]}"#)
            .unwrap();
    assert_eq!(read.at, UNIX_EPOCH + Duration::from_millis(1_795_546_767_500));
    assert_eq!(read.left_at, None);

    let columns = Visit::columns();
    assert_eq!(columns[1].ty.to_string(), "DateTime64(3, 'UTC')");
    assert_eq!(columns[2].ty.to_string(), "Nullable(DateTime64(0, 'UTC'))");
}
