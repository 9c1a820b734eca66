#!/usr/bin/env bash
# Runs the same workload through leakscrub and peer scanners, alternating
# tools each round, and prints median wall time, throughput, peak RSS and
# leakscrub's speed ratio against each peer.
#
# Usage: benches/compare.sh DIR [-n RUNS] [--config FILE]
#        benches/compare.sh --file FILE [-n RUNS] [--config FILE]
#
# Peers are installed with ../shared/peers/setup.sh (relative to the repo
# root) when missing; a peer that cannot be installed is left out. Set
# PEERS_DIR to use peers installed elsewhere.
set -euo pipefail

usage() { echo "usage: $0 DIR [-n RUNS] [--config FILE] | $0 --file FILE [-n RUNS] [--config FILE]" >&2; exit 2; }

runs=5
target=""
mode=dir
config=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || usage; mode=file; target=$2; shift 2 ;;
    --config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
    -h|--help) usage ;;
    *) [ -z "$target" ] || usage; target=$1; shift ;;
  esac
done
[ -n "$target" ] || usage
if [ "$mode" = dir ] && [ ! -d "$target" ]; then echo "$0: $target: not a directory" >&2; exit 2; fi
if [ "$mode" = file ] && [ ! -f "$target" ]; then echo "$0: $target: not a file" >&2; exit 2; fi
case "$runs" in ''|*[!0-9]*|0) echo "$0: -n needs a positive number" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$HOME/.cache/leakscrub-peers}

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  if command -v apt-get >/dev/null; then
    { apt-get install -y -q time >/dev/null 2>&1 || sudo -n apt-get install -y -q time >/dev/null 2>&1; } || true
  fi
  [ -x /usr/bin/time ] || { echo "$0: GNU time (/usr/bin/time) is required" >&2; exit 2; }
fi

if [ ! -x "$peers/bin/gitleaks" ] || [ ! -x "$peers/bin/kingfisher" ]; then
  setup="$repo/../shared/peers/setup.sh"
  if [ -x "$setup" ] || [ -f "$setup" ]; then
    echo "installing peers into $peers" >&2
    bash "$setup" "$peers" >&2 || echo "peer setup failed; comparing with what is available" >&2
  else
    echo "no peer setup script at $setup; comparing with what is available" >&2
  fi
fi

echo "building leakscrub (release)" >&2
(cd "$repo" && cargo build --release --quiet --bin leakscrub)
leakscrub="$repo/target/release/leakscrub"

# Bytes scanned, counted once; a tree's .git is not part of the workload.
if [ "$mode" = dir ]; then
  bytes=$(find "$target" -path '*/.git' -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  files=$(find "$target" -path '*/.git' -prune -o -type f -print | wc -l)
else
  bytes=$(stat -c %s "$target")
  files=1
fi

# Reports go to files in a scratch folder, never to /dev/null by path: a
# tool that replaces its report file would replace the device.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ls_extra=()
[ -n "$config" ] && ls_extra=(--config "$config")
tools=(leakscrub)
declare -A cmd ok_status
# Exit statuses that mean "ran to the end" (findings or none).
ok_status[leakscrub]=" 0 1 "
ok_status[gitleaks]=" 0 "
ok_status[kingfisher]=" 0 200 205 "
cmd[leakscrub]="$(printf '%q ' "$leakscrub" scan dir "$target" --no-progress --quiet --format json -o "$tmp/leakscrub.json" "${ls_extra[@]}")"
if [ -x "$peers/bin/gitleaks" ]; then
  tools+=(gitleaks)
  # gitleaks skips files over --max-target-megabytes only when asked; leave it unbounded.
  cmd[gitleaks]="$(printf '%q ' "$peers/bin/gitleaks" dir "$target" --no-banner --log-level error --report-format json --report-path "$tmp/gitleaks.json" --exit-code 0)"
fi
if [ -x "$peers/bin/kingfisher" ]; then
  tools+=(kingfisher)
  # --max-file-size 0 is not "unlimited" in kingfisher; --no-limits is.
  kf_limits=()
  [ "$mode" = file ] && kf_limits=(--no-limits)
  cmd[kingfisher]="$(printf '%q ' "$peers/bin/kingfisher" scan "$target" --no-validate --git-history none --quiet --no-update-check --format json -o "$tmp/kingfisher.json" "${kf_limits[@]}")"
fi

echo "workload: $target ($files file(s), $bytes bytes), $runs round(s), $(nproc) core(s)" >&2
for t in "${tools[@]}"; do echo "  $t: ${cmd[$t]}" >&2; done
# One untimed warm-up each so every tool sees the same page cache.
for t in "${tools[@]}"; do eval "${cmd[$t]}" >/dev/null 2>&1 || true; done

for ((r = 1; r <= runs; r++)); do
  # Rotate the order each round so no tool always runs first.
  n=${#tools[@]}
  for ((i = 0; i < n; i++)); do
    t=${tools[$(((i + r) % n))]}
    status=0
    /usr/bin/time -f '%e %M %U %S' -o "$tmp/one" bash -c "${cmd[$t]} >/dev/null 2>\"\$1\"" _ "$tmp/err" || status=$?
    if [[ "${ok_status[$t]}" != *" $status "* ]]; then
      echo "warning: $t exited with status $status (timing kept): $(head -c 300 "$tmp/err" | tr '\n' ' ')" >&2
    fi
    tail -n 1 "$tmp/one" >>"$tmp/$t"
  done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# CPU seconds (user + system) tell the work done even when other load on
# the machine stretches wall times.
printf '\n%-11s %10s %10s %12s %10s\n' tool "median s" "MB/s" "peak RSS MB" "CPU s"
declare -A secs
for t in "${tools[@]}"; do
  s=$(cut -d' ' -f1 "$tmp/$t" | median)
  rss=$(cut -d' ' -f2 "$tmp/$t" | sort -g | tail -n 1)
  cpu=$(awk '{print $3 + $4}' "$tmp/$t" | median)
  secs[$t]=$s
  awk -v t="$t" -v s="$s" -v b="$bytes" -v m="$rss" -v c="$cpu" \
    'BEGIN {printf "%-11s %10.3f %10.1f %12.1f %10.2f\n", t, s, (s > 0 ? b / 1e6 / s : 0), m / 1024, c}'
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
for t in "${tools[@]}"; do
  [ "$t" = leakscrub ] && continue
  awk -v t="$t" -v a="${secs[leakscrub]}" -v p="${secs[$t]}" \
    'BEGIN {if (a > 0) printf "leakscrub vs %-10s %6.1fx throughput\n", t, p / a}'
done
