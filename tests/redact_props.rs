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
