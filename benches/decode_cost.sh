#!/usr/bin/env bash
# What decoding costs on a tree: runs `scan dir` with decoding on (the
# default) and off (--max-decode-depth 0), alternating the two each round,
# and prints median wall and CPU time of each and the overhead of decoding.
#
# Usage: benches/decode_cost.sh DIR [-n RUNS] [--bin PATH]
#
# CPU time (user + system) is the steadier figure on a shared machine;
# wall time is what a user waits for.
set -euo pipefail

usage() { echo "usage: $0 DIR [-n RUNS] [--bin PATH]" >&2; exit 2; }

runs=9
target=""
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --bin) [ $# -ge 2 ] || usage; bin=$2; shift 2 ;;
    -h|--help) usage ;;
    *) [ -z "$target" ] || usage; target=$1; shift ;;
  esac
done
[ -n "$target" ] || usage
[ -d "$target" ] || { echo "$0: $target: not a directory" >&2; exit 2; }
case "$runs" in ''|*[!0-9]*|0) echo "$0: -n needs a positive number" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "$0: GNU time (/usr/bin/time) is required (apt-get install time)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$bin" ]; then
  echo "building leakscrub (release)" >&2
  (cd "$repo" && cargo build --release --quiet --bin leakscrub)
  bin="$repo/target/release/leakscrub"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

modes=(on off)
declare -A args
args[on]=""
args[off]="--max-decode-depth 0"

one() {
  local mode=$1 status=0
  # shellcheck disable=SC2086
  /usr/bin/time -f '%e %U %S' -o "$tmp/one" \
    "$bin" scan dir "$target" --no-progress --quiet --format json -o "$tmp/$mode.json" ${args[$mode]} \
    2>"$tmp/err" || status=$?
  if [ "$status" -gt 1 ]; then
    echo "$0: decoding $mode: exit $status: $(head -c 300 "$tmp/err")" >&2
    exit 2
  fi
  tail -n 1 "$tmp/one" >>"$tmp/$mode"
}

echo "workload: $target, $runs round(s) each, $(nproc) core(s)" >&2
# One untimed run each so both see the same page cache.
for m in "${modes[@]}"; do one "$m"; done
: >"$tmp/on"
: >"$tmp/off"
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then one on; one off; else one off; one on; fi
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-13s %10s %10s %9s\n' decoding "median s" "CPU s" findings
declare -A wall cpu
for m in "${modes[@]}"; do
  wall[$m]=$(cut -d' ' -f1 "$tmp/$m" | median)
  cpu[$m]=$(awk '{print $2 + $3}' "$tmp/$m" | median)
  found=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/$m.json" 2>/dev/null || echo "?")
  printf '%-13s %10.3f %10.2f %9s\n' "$m" "${wall[$m]}" "${cpu[$m]}" "$found"
done
awk -v a="${wall[on]}" -v b="${wall[off]}" -v c="${cpu[on]}" -v d="${cpu[off]}" \
  'BEGIN {printf "decoding costs %+.1f%% wall, %+.1f%% CPU\n", (b > 0 ? (a / b - 1) * 100 : 0), (d > 0 ? (c / d - 1) * 100 : 0)}'
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
