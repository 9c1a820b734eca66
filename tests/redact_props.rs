//! Property tests of the streaming redactor: however the input is split
//! and flushed, the output equals one-shot redaction, holds no secret, and
//! keeps every other byte in order.

use std::sync::Arc;

use leakscrub::engine::checksum::make_github_style_token;
use leakscrub::redact::values::KnownValue;
use leakscrub::redact::{redact_all, RedactConfig, Redaction, StreamRedactor};
use leakscrub::rules::{load_rule_set, LoadOptions};
use proptest::prelude::*;

/// Filler bytes: no letters or digits, so filler never extends a secret,
/// never forms one, and keeps word boundaries around tokens.
const FILLER: &[u8] = b" .-\n\r:;,=\t/()\"'";
const ESCAPES: &[&[u8]] = &[b"\x1b[1m", b"\x1b[0;31m", b"\x1b[K", b"\x1b(B"];

#[derive(Debug, Clone)]
enum Piece {
    Filler(Vec<u8>),
    Escape(usize),
    /// Secret `n` (values first, then the token), with an escape sequence
    /// inserted at the given visible offset.
    Secret(usize, Option<(usize, usize)>),
}

fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    let alnum =
        proptest::collection::vec(prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'], 6..20);
    let self_overlapping = (
        proptest::collection::vec(prop_oneof![b'a'..=b'c', b'0'..=b'2'], 2..5),
        b'X'..=b'Z',
    )
        .prop_map(|(w, x)| {
            let mut v = w.clone();
            v.extend_from_slice(&w);
            v.extend_from_slice(&w);
            v.push(x);
            v
        });
    prop_oneof![alnum, self_overlapping]
}

fn token_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'], 30)
        .prop_map(|body| make_github_style_token("ghp_", &String::from_utf8_lossy(&body)))
}

fn piece_strategy(secrets: usize) -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => proptest::collection::vec(proptest::sample::select(FILLER), 1..12).prop_map(Piece::Filler),
        1 => (0..ESCAPES.len()).prop_map(Piece::Escape),
        2 => (0..secrets, proptest::option::of((0usize..64, 0..ESCAPES.len())))
            .prop_map(|(s, e)| Piece::Secret(s, e)),
    ]
}

struct Case {
    input: Vec<u8>,
    expected: Vec<u8>,
}

fn build(secrets: &[Vec<u8>], pieces: &[Piece]) -> Case {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    let mut last_was_secret = false;
    for p in pieces {
        match p {
            Piece::Filler(f) => {
                input.extend_from_slice(f);
                expected.extend_from_slice(f);
                last_was_secret = false;
            }
            Piece::Escape(e) => {
                input.extend_from_slice(ESCAPES[*e]);
                expected.extend_from_slice(ESCAPES[*e]);
            }
            Piece::Secret(s, esc) => {
                // Secrets are separated by filler so masks never merge.
                if last_was_secret {
                    input.push(b' ');
                    expected.push(b' ');
                }
                let secret = &secrets[*s];
                match esc {
                    Some((at, e)) => {
                        let at = 1 + at % (secret.len() - 1);
                        input.extend_from_slice(&secret[..at]);
                        input.extend_from_slice(ESCAPES[*e]);
                        input.extend_from_slice(&secret[at..]);
                        expected.extend_from_slice(b"***");
                        expected.extend_from_slice(ESCAPES[*e]);
                    }
                    None => {
                        input.extend_from_slice(secret);
                        expected.extend_from_slice(b"***");
                    }
                }
                last_was_secret = true;
            }
        }
    }
    Case { input, expected }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_chunking_equals_one_shot_and_never_leaks(
        values in proptest::collection::vec(value_strategy(), 1..4),
        token in token_strategy(),
        pieces in proptest::collection::vec(piece_strategy(4), 0..40),
        cuts in proptest::collection::vec(0usize..64, 0..40),
        flushes in proptest::collection::vec(any::<bool>(), 40),
        byte_by_byte in any::<bool>(),
    ) {
        let rules = load_rule_set(&LoadOptions::default()).unwrap();
        let known: Vec<KnownValue> = values
            .iter()
            .enumerate()
            .map(|(i, v)| KnownValue { name: format!("V{i}"), value: v.clone() })
            .collect();
        let shared = Arc::new(Redaction::new(&rules, &known, RedactConfig::default()).unwrap());
        let mut secrets = values.clone();
        secrets.push(token.clone().into_bytes());
        // Pieces name up to four secrets; wrap onto what exists.
        let pieces: Vec<Piece> = pieces
            .into_iter()
            .map(|p| match p {
                Piece::Secret(s, e) => Piece::Secret(s % secrets.len(), e),
                other => other,
            })
            .collect();
        let case = build(&secrets, &pieces);

        let one_shot = redact_all(&shared, &case.input);
        prop_assert_eq!(
            String::from_utf8_lossy(&one_shot),
            String::from_utf8_lossy(&case.expected)
        );

        let mut r = StreamRedactor::new(Arc::clone(&shared));
        let mut out = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < case.input.len() {
            let step = if byte_by_byte { 1 } else { cuts.get(i).copied().unwrap_or(64).max(1) };
            let end = (at + step).min(case.input.len());
            r.push(&case.input[at..end], &mut out);
            if flushes[i % flushes.len()] {
                r.flush_partial(&mut out);
            }
            at = end;
            i += 1;
        }
        r.finish(&mut out);
        prop_assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&one_shot)
        );
        for s in &secrets {
            prop_assert!(!contains(&out, s));
        }
    }
}

/// Throughput on a generated build log with 1,000 registered values and
/// the default high-confidence rules. A measurement, not a timed test:
/// `cargo test --release --test redact_props throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn throughput_on_a_build_log() {
    use std::time::Instant;
    let rules = load_rule_set(&LoadOptions::default()).unwrap();
    let known: Vec<KnownValue> = (0..1000)
        .map(|i| KnownValue {
            name: format!("V{i}"),
            value: format!(
                "val{i:04}-{:016x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            )
            .into_bytes(),
        })
        .collect();
    let shared = Arc::new(Redaction::new(&rules, &known, RedactConfig::default()).unwrap());
    let token = make_github_style_token("ghp_", "Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0");
    let mut log = Vec::new();
    let mut i = 0u64;
    while log.len() < 64 << 20 {
        let line = match i % 6 {
            0 => format!("2026-01-02T03:04:05.{i:07}Z \x1b[1m\x1b[32m   Compiling\x1b[0m crate-{i} v0.1.{i} (/build/src)\n"),
            1 => format!("npm WARN deprecated package-{i}@1.0.{i}: this package is no longer supported\n"),
            2 => format!("tests/test_mod_{i}.py::test_case_{i} PASSED                                   [ {}%]\n", i % 100),
            3 => format!("#{i} [builder 3/7] RUN pip install -r requirements.txt  {}.{}s\n", i % 60, i % 10),
            4 => format!("\rDownloading [=========>          ] {}/{} MB", i % 500, 500),
            _ => format!("   Finished `dev` profile [unoptimized + debuginfo] target(s) in {}.{}s\n", i % 60, i % 100),
        };
        log.extend_from_slice(line.as_bytes());
        if i % 3000 == 0 {
            log.extend_from_slice(format!("GITHUB_TOKEN={token}\n").as_bytes());
        }
        i += 1;
    }
    let mut r = StreamRedactor::new(Arc::clone(&shared));
    let mut out = Vec::with_capacity(1 << 20);
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    for chunk in log.chunks(64 * 1024) {
        r.push(chunk, &mut out);
        out.clear();
    }
    r.finish(&mut out);
    let secs = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds() - cpu_started;
    let mb = log.len() as f64 / (1 << 20) as f64;
    println!(
        "{mb:.0} MB: {:.0} MB/s wall, {:.0} MB/s of thread CPU time ({} automaton states)",
        mb / secs,
        mb / cpu,
        shared.state_count()
    );
}

/// CPU time of the calling thread: steadier than wall time on a busy machine.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
