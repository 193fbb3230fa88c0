"""CPU per row by stage, from `perf script -F comm,pid,ip,sym` of a load-tool run (stdin).

Used by scripts/profile.sh. Each sample is given to the first stage whose pattern matches a
frame of its call stack, in the order below (so a transform's own decoding, running and
encoding count for that transform, and what its worker does around them for "transform
workers"); samples of another process are the ClickHouse server's. CPU per row is samples /
hz / rows; the stages add up to about the CPU the load tool itself reports for the phase.
"""

import argparse
import collections
import re
import sys

STAGES = [
    ("ingest: HTTP, JSON decode, binary encode, append", r"moose_runtime::ingest::"),
    ("transform `double` (decode, run, encode)", r"fn\(loadgen::chained::RawData\)"),
    ("transform `triple` (decode, run, encode)", r"fn\(loadgen::chained::IntermediateData\)"),
    ("transform `summarize` (decode, run, encode)", r"fn\(loadgen::flights::"),
    ("transform workers: outputs, appends, acknowledgements", r"TransformWorker::run"),
    ("sync: payload to RowBinary, insert client", r"SyncWorker"),
    ("log: reads for the workers", r"Partition::read|LocalConsumer|local::consumer"),
    ("log: appends and fsync outside a stage", r"Partition::append|produce_records|sync_data"),
    ("load generator: building and posting bodies", r"loadgen::load::|loadgen::records::|reqwest::"),
    ("telemetry and dashboard", r"moose_runtime::telemetry|moose_runtime::dashboard"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pid", required=True, help="the load tool's process id")
    parser.add_argument("--rows", type=float, required=True, help="records of the phase")
    parser.add_argument("--hz", type=float, required=True, help="perf's sampling frequency")
    args = parser.parse_args()
    stages = [(name, re.compile(pattern)) for name, pattern in STAGES]
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    header = None
    stack: list[str] = []

    def settle() -> None:
        nonlocal total
        if header is None:
            return
        total += 1
        if header[1] != args.pid:
            counts["ClickHouse server"] += 1
            return
        for name, pattern in stages:
            if any(pattern.search(frame) for frame in stack):
                counts[name] += 1
                return
        counts["other in the pipeline's process (runtime, allocator, kernel)"] += 1

    for line in sys.stdin:
        if not line.strip():
            settle()
            header, stack = None, []
        elif not line.startswith("\t"):
            settle()
            comm, pid = line.rsplit(None, 1)
            header, stack = (comm, pid.rstrip(":")), []
        else:
            # "<address> <symbol>": the symbol, which may hold spaces.
            stack.append(line.strip().partition(" ")[2])
    settle()
    if total == 0:
        sys.exit("profile_stages.py: no samples (is perf allowed to profile?)")
    seconds = total / args.hz
    print(f"{total} samples, {seconds:.2f} CPU s sampled, {args.rows:,.0f} rows")
    print()
    print("| stage | CPU µs/row | share |")
    print("|---|---|---|")
    for name, count in counts.most_common():
        print(f"| {name} | {count / args.hz / args.rows * 1e6:.2f} | {100 * count / total:.1f}% |")


if __name__ == "__main__":
    main()
