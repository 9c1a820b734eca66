#!/usr/bin/env python3
"""Writes a large, realistic CI build log for benchmarks: GitHub Actions
timestamps, ANSI colours, cargo/npm/pytest/docker output, progress lines,
cache keys with hashes, and a planted credential every few thousand lines.
Deterministic: the same SIZE_MB always gives the same bytes.

Usage: benches/gen_log.py SIZE_MB OUT
"""

import random
import sys

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def github_token(rng):
    # Body plus 6 base62 characters of CRC32, as GitHub documents.
    import zlib

    body = rand(rng, B62, 30)
    crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
    tail = ""
    while crc:
        crc, d = divmod(crc, 62)
        tail = B62[d] + tail
    return "ghp_" + body + tail.rjust(6, "0")


def planted(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return "export GITHUB_TOKEN=" + github_token(rng)
    if kind == 1:
        return "AWS_ACCESS_KEY_ID=AKIA" + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    if kind == 2:
        return "Authorization: Bearer " + rand(rng, B62, 40)
    if kind == 3:
        return "DATABASE_URL=postgres://app:" + rand(rng, B62, 18) + "@db.internal:5432/app"
    return 'slack_webhook="https://hooks.slack.com/services/T' + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9) + "/B" + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9) + "/" + rand(rng, B62, 24) + '"'


CRATES = ["serde", "tokio", "regex", "hyper", "clap", "rand", "syn", "quote", "anyhow", "tracing", "futures", "bytes", "mio", "libc", "log"]
NPM = ["react", "lodash", "webpack", "typescript", "eslint", "jest", "babel-core", "express", "axios", "vite"]
TESTS = ["test_parse", "test_roundtrip", "test_auth_flow", "test_token_refresh", "test_cache_key", "test_password_reset", "test_upload", "test_retry"]


def line(rng, n, ts):
    k = rng.randrange(100)
    stamp = f"2024-05-{1 + (n // 3_600_000) % 28:02d}T{(n // 360000) % 24:02d}:{(n // 6000) % 60:02d}:{(n // 100) % 60:02d}.{n % 10_000_000:07d}Z "
    if k < 25:
        c = rng.choice(CRATES)
        body = f"\x1b[1m\x1b[32m   Compiling\x1b[0m {c} v1.{rng.randrange(40)}.{rng.randrange(20)}"
    elif k < 35:
        body = f"npm WARN deprecated {rng.choice(NPM)}@{rng.randrange(9)}.{rng.randrange(30)}.{rng.randrange(9)}: this version is no longer supported"
    elif k < 45:
        t = rng.choice(TESTS)
        ok = rng.random() > 0.02
        body = f"tests/test_{rng.choice(CRATES)}.py::{t} " + ("\x1b[32mPASSED\x1b[0m" if ok else "\x1b[31mFAILED\x1b[0m") + f" [{rng.randrange(100):3d}%]"
    elif k < 55:
        body = f"#{rng.randrange(30)} [{rng.randrange(1, 9)}/9] RUN apt-get install -y --no-install-recommends ca-certificates curl git"
    elif k < 62:
        body = f"#{rng.randrange(30)} sha256:{rand(rng, HEX, 64)} {rng.randrange(1, 900)}.{rng.randrange(10)}MB / {rng.randrange(900, 2000)}MB {rng.randrange(1, 60)}.{rng.randrange(10)}s"
    elif k < 68:
        body = f"Cache restored from key: Linux-cargo-{rand(rng, HEX, 64)}"
    elif k < 74:
        pct = rng.randrange(101)
        body = f"Downloading [{'=' * (pct // 4)}>{' ' * (25 - pct // 4)}] {pct}% {rng.randrange(1, 500)}kB/s eta {rng.randrange(60)}s\r"
    elif k < 80:
        body = f"##[group]Run actions/checkout@v4\n{stamp}with:\n{stamp}  token: ***\n{stamp}  persist-credentials: true\n{stamp}##[endgroup]"
    elif k < 86:
        body = f"    Finished `release` profile [optimized] target(s) in {rng.randrange(10, 300)}.{rng.randrange(100):02d}s"
    elif k < 92:
        body = f"added {rng.randrange(1, 1500)} packages, and audited {rng.randrange(1, 1600)} packages in {rng.randrange(1, 60)}s; integrity sha512-{rand(rng, B62 + '+/', 86)}=="
    else:
        body = f"warning: unused variable: `{rng.choice(['key', 'token', 'auth_header', 'secret_name', 'password_hint'])}` --> src/{rng.choice(CRATES)}.rs:{rng.randrange(1, 2000)}:{rng.randrange(1, 80)}"
    return stamp + body + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_log.py SIZE_MB OUT")
    size = int(float(sys.argv[1]) * 1_000_000)
    rng = random.Random(20240501)
    written = 0
    n = 0
    with open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
        buf = []
        while written < size:
            n += 1
            if n % 3000 == 0:
                s = f"2024-05-01T00:00:00.0000000Z {planted(rng)}\n"
            else:
                s = line(rng, n, None)
            buf.append(s)
            written += len(s.encode())
            if len(buf) >= 10000:
                out.write("".join(buf))
                buf = []
        out.write("".join(buf))


if __name__ == "__main__":
    main()
