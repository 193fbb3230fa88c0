//! `GET /stats` as `top` reads it: the runtime's own [`Stats`](crate::telemetry::stats::Stats)
//! types, under the names `top` uses.

pub use crate::telemetry::stats::{
    ClickHouseStats as ClickHouseInfo, ReadyStats as Readiness, RouteStats, Stats as Snapshot,
    StreamStats, SyncStats, TaskStats,
};
