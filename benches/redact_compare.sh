#!/usr/bin/env bash
# Throughput of `leakscrub redact` against naive maskers doing the same job:
# a Python line masker with one alternation regex and a sed script, each with the same
# registered values and token patterns.
#
# Usage: benches/redact_compare.sh [LOG_MB] [VALUES]     (defaults: 50 MB, 1000 values)
# Prints MB/s per tool and leakscrub's ratio to each (median of 3 runs; one
# for the slow Python masker).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-50}
nvalues=${2:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin leakscrub
bin=target/release/leakscrub
log="$work/build.log"
python3 benches/gen_log.py "$mb" "$log" >/dev/null

# Registered values: random, 12-40 characters, some of them planted in the log.
python3 - "$nvalues" "$work/values.txt" "$log" <<'PY'
import random, sys
n, out, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(7)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
vals = ["".join(rng.choice(alpha) for _ in range(rng.randint(12, 40))) for _ in range(n)]
open(out, "w").write("\n".join(vals) + "\n")
with open(log, "a") as f:
    for v in vals[:50]:
        f.write(f"deploy: using credential {v}\n")
PY

patterns='ghp_[0-9A-Za-z]{36}|gh[ousr]_[0-9A-Za-z]{36}|glpat-[0-9A-Za-z_-]{20}|xox[bpae]-[0-9A-Za-z-]{10,100}|AKIA[0-9A-Z]{16}|sk_live_[0-9A-Za-z]{24,99}'
cat > "$work/naive.py" <<PY
import re, sys
vals = [l.rstrip("\n") for l in open("$work/values.txt") if l.strip()]
# One alternation, longest values first: what a careful line masker does.
vals.sort(key=len, reverse=True)
pat = re.compile("|".join(re.escape(v) for v in vals) + r"|$patterns")
out = sys.stdout
for line in sys.stdin:
    out.write(pat.sub("***", line))
PY
# sed: the values as one alternation (sed would take hours with 1000 s///g
# commands), plus the token patterns.
python3 - "$work/values.txt" "$work/mask.sed" "$patterns" <<'PY'
import re, sys
vals = [l.strip() for l in open(sys.argv[1]) if l.strip()]
esc = [re.sub(r'([][\\.*^$/|+?(){}])', r'\\\1', v) for v in vals]
with open(sys.argv[2], "w") as f:
    f.write("s/" + "|".join(esc) + "/***/g\n")
    f.write("s/" + sys.argv[3] + "/***/g\n")
PY

size=$(stat -c %s "$log")
measure() { # runs cmd...
  local runs=$1 best=()
  shift
  for ((i = 0; i < runs; i++)); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" < "$log" > /dev/null
    t1=$(date +%s.%N)
    best+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${best[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}
t_ls=$(measure 3 "$bin" redact --values-file "$work/values.txt" --values-from-env '' --flush-ms 100)
# The Python masker takes minutes: one run.
t_py=$(measure 1 python3 "$work/naive.py")
t_sed=$(measure 3 sed -E -f "$work/mask.sed")
mbs() { echo "scale=1; $size / 1000000 / $1" | bc -l; }
printf '%-28s %10s %10s\n' tool seconds MB/s
printf '%-28s %10.2f %10s\n' "leakscrub redact" "$t_ls" "$(mbs "$t_ls")"
printf '%-28s %10.2f %10s\n' "python re.sub" "$t_py" "$(mbs "$t_py")"
printf '%-28s %10.2f %10s\n' "sed -E" "$t_sed" "$(mbs "$t_sed")"
printf 'leakscrub / python: %.1fx   leakscrub / sed: %.1fx   (%s MB log, %s values)\n' \
  "$(echo "$t_py / $t_ls" | bc -l)" "$(echo "$t_sed / $t_ls" | bc -l)" "$((size / 1000000))" "$nvalues"
