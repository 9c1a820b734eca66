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

/// `data` through the real `base64` tool wrapped at `width` columns.
fn base64_tool(data: &[u8], width: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("base64")
        .arg(format!("-w{width}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(data).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn base64_std(data: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(data)
        .into_bytes()
}

/// Base64 characters whose bits all come from `stream[at..at + len]`.
fn core_chars(stream: &[u8], at: usize, len: usize) -> Vec<u8> {
    let joined = base64_std(stream);
    joined[(at * 8).div_ceil(6)..((at + len) * 8) / 6].to_vec()
}

fn redact_in_pieces(
    shared: &Arc<Redaction>,
    input: &[u8],
    cuts: &[usize],
    flushes: &[bool],
) -> Vec<u8> {
    let mut r = StreamRedactor::new(Arc::clone(shared));
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let step = cuts.get(i).copied().unwrap_or(64).max(1);
        let end = (at + step).min(input.len());
        r.push(&input[at..end], &mut out);
        if flushes.get(i).copied().unwrap_or(false) {
            r.flush_partial(&mut out);
        }
        at = end;
        i += 1;
    }
    r.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A value inside a stream wrapped by the real `base64` tool at 64 or
    /// 76 columns, at any byte offset, with `\n` or `\r\n` line ends and
    /// surrounding text: any chunking equals one-shot, keeps every line
    /// break, and no piece of the value's base64 survives.
    #[test]
    fn wrapped_base64_in_any_chunking_never_leaks(
        value in proptest::collection::vec(prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'], 12..200),
        lead in proptest::collection::vec(any::<u8>(), 0..160),
        tail in proptest::collection::vec(any::<u8>(), 0..80),
        wide in any::<bool>(),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(1usize..90, 0..60),
        flushes in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let known = [KnownValue { name: "V".into(), value: value.clone() }];
        let rules = load_rule_set(&LoadOptions::default()).unwrap();
        let shared = Arc::new(Redaction::new(&rules, &known, RedactConfig::default()).unwrap());
        let mut stream = lead.clone();
        stream.extend_from_slice(&value);
        stream.extend_from_slice(&tail);
        let mut wrapped = base64_tool(&stream, if wide { 76 } else { 64 });
        if crlf {
            wrapped = wrapped
                .split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
                .collect();
        }
        let mut input = b"$ base64 secret.bin\n".to_vec();
        input.extend_from_slice(&wrapped);
        input.extend_from_slice(b"done.\n");

        let one_shot = redact_all(&shared, &input);
        let chunked = redact_in_pieces(&shared, &input, &cuts, &flushes);
        prop_assert_eq!(&chunked, &one_shot);
        let byte_wise = redact_in_pieces(&shared, &input, &[1; 4096], &flushes);
        prop_assert_eq!(&byte_wise, &one_shot);

        let count = |b: &[u8], c: u8| b.iter().filter(|&&x| x == c).count();
        prop_assert_eq!(count(&one_shot, b'\n'), count(&input, b'\n'));
        prop_assert_eq!(count(&one_shot, b'\r'), count(&input, b'\r'));
        prop_assert!(one_shot.starts_with(b"$ base64 secret.bin\n"));
        prop_assert!(one_shot.ends_with(b"done.\n"));
        let joined: Vec<u8> = one_shot.iter().copied().filter(|&c| c != b'\n' && c != b'\r').collect();
        let core = core_chars(&stream, lead.len(), value.len());
        for window in core.windows(12) {
            prop_assert!(!contains(&joined, window));
        }
    }
}

/// A stretch of a build log around private keys and `::add-mask::` lines.
#[derive(Debug, Clone)]
enum Segment {
    /// An ordinary line from a build log.
    Ordinary(usize),
    /// A PEM private key: its kind, its body lines (full ones, maybe a
    /// shorter last one), and whether it stops before its END marker.
    Key {
        kind: usize,
        lines: Vec<Vec<u8>>,
        cut_short: bool,
    },
    /// `::add-mask::` with leading blanks and a mixed-case name (or the
    /// legacy `##[add-mask]` after some text), then a line that uses the
    /// value.
    Mask {
        lead: usize,
        upper: bool,
        legacy: bool,
        value: Vec<u8>,
    },
    /// Lines `from..to` of a key registered as a known value, printed on
    /// their own (`sed -n 3,4p key.pem`).
    KnownLines(usize, usize),
}

/// The lines of the key registered as a known value in
/// `keys_and_commands_in_any_chunking`: a PKCS#8 shape, deterministic.
fn known_key_lines() -> Vec<String> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        B64[(x % 64) as usize] as char
    };
    let mut lines = vec!["-----BEGIN PRIVATE KEY-----".to_string()];
    for _ in 0..5 {
        lines.push((0..64).map(|_| next()).collect());
    }
    lines.push((0..28).map(|_| next()).collect::<String>() + "==");
    lines.push("-----END PRIVATE KEY-----".to_string());
    lines
}

const ORDINARY: &[&str] = &[
    "Step 3/9 : RUN make build",
    "ordinary line (done)",
    "Compiling",
    "npm WARN deprecated request@2.88.2",
    "export KEY_HEADER='-----BEGIN EC PRIVATE KEY-----'",
    "-----BEGIN OPENSSH PRIVATE KEY----- (example header)",
    "{\"type\": \"service_account\", \"project_id\": \"acme-ci\"}",
    "  ::add-mask-x::not a command",
    "",
];
const KINDS: &[&str] = &["", "RSA ", "EC ", "OPENSSH "];

fn segment_strategy() -> impl Strategy<Value = Segment> {
    let b64 = prop_oneof![
        b'A'..=b'Z',
        b'a'..=b'z',
        b'0'..=b'9',
        Just(b'+'),
        Just(b'/')
    ];
    let line = proptest::collection::vec(b64, 64);
    prop_oneof![
        3 => (0..ORDINARY.len()).prop_map(Segment::Ordinary),
        2 => (0..KINDS.len(), proptest::collection::vec(line, 1..5), 0usize..63, any::<bool>())
            .prop_map(|(kind, mut lines, last, cut_short)| {
                // A last line as short as a few characters could occur in
                // the rest of the log by chance.
                if last >= 8 {
                    let mut tail = lines[0].clone();
                    tail.truncate(last);
                    tail.reverse();
                    lines.push(tail);
                }
                Segment::Key { kind, lines, cut_short }
            }),
        1 => (0usize..8, 1usize..4).prop_map(|(from, n)| Segment::KnownLines(from, (from + n).min(8))),
        1 => (0usize..4, any::<bool>(), any::<bool>(), proptest::collection::vec(prop_oneof![b'a'..=b'z', b'0'..=b'9'], 8..16))
            .prop_map(|(lead, upper, legacy, mut value)| {
                value.splice(0..0, *b"mv-");
                Segment::Mask { lead, upper, legacy, value }
            }),
    ]
}

fn rules() -> &'static leakscrub::rules::RuleSet {
    static RULES: std::sync::OnceLock<leakscrub::rules::RuleSet> = std::sync::OnceLock::new();
    RULES.get_or_init(|| load_rule_set(&LoadOptions::default()).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Private keys (whole or cut short) among ordinary lines,
    /// runner-style `::add-mask::` commands (both forms) and lines of a
    /// key known as a value, with `\n` or `\r\n`: any
    /// chunking and flushing equals one-shot redaction, no body line of a
    /// key and no registered value is written, and no line break is lost
    /// but those of the command lines.
    #[test]
    fn keys_and_commands_in_any_chunking(
        segments in proptest::collection::vec(segment_strategy(), 1..14),
        crlf in any::<bool>(),
        cuts in proptest::collection::vec(1usize..80, 0..80),
        flushes in proptest::collection::vec(any::<bool>(), 80),
    ) {
        let key_lines = known_key_lines();
        let known = [KnownValue { name: "DEPLOY_KEY".into(), value: (key_lines.join("\n") + "\n").into_bytes() }];
        let shared = Arc::new(Redaction::new(rules(), &known, RedactConfig::default()).unwrap());
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut input = Vec::new();
        let mut secrets: Vec<Vec<u8>> = Vec::new();
        let mut commands = 0;
        for seg in &segments {
            match seg {
                Segment::KnownLines(from, to) => {
                    for line in &key_lines[*from..*to] {
                        input.extend_from_slice(line.as_bytes());
                        input.extend_from_slice(eol);
                        if !line.starts_with("-----") {
                            secrets.push(line.as_bytes()[..20].to_vec());
                        }
                    }
                }
                Segment::Ordinary(i) => {
                    input.extend_from_slice(ORDINARY[*i].as_bytes());
                    input.extend_from_slice(eol);
                }
                Segment::Key { kind, lines, cut_short } => {
                    let kind = KINDS[*kind];
                    input.extend_from_slice(format!("-----BEGIN {kind}PRIVATE KEY-----").as_bytes());
                    input.extend_from_slice(eol);
                    for l in lines {
                        input.extend_from_slice(l);
                        input.extend_from_slice(eol);
                        if l.len() >= 8 {
                            secrets.push(l[..l.len().min(20)].to_vec());
                        }
                    }
                    if !cut_short {
                        input.extend_from_slice(format!("-----END {kind}PRIVATE KEY-----").as_bytes());
                        input.extend_from_slice(eol);
                    }
                }
                Segment::Mask { lead, upper, legacy, value } => {
                    if *legacy {
                        input.extend_from_slice(&b"[step] "[..*lead * 2]);
                        input.extend_from_slice(if *upper { b"##[ADD-MASK]" } else { b"##[add-mask]" });
                    } else {
                        input.extend_from_slice(&b" \t  "[..*lead]);
                        input.extend_from_slice(if *upper { b"::ADD-MASK::" } else { b"::add-mask::" });
                        commands += 1;
                    }
                    input.extend_from_slice(value);
                    input.extend_from_slice(eol);
                    input.extend_from_slice(b"login with ");
                    input.extend_from_slice(value);
                    input.extend_from_slice(b" (ok)");
                    input.extend_from_slice(eol);
                    secrets.push(value.clone());
                }
            }
        }
        let one_shot = redact_all(&shared, &input);
        let chunked = redact_in_pieces(&shared, &input, &cuts, &flushes);
        prop_assert_eq!(String::from_utf8_lossy(&chunked), String::from_utf8_lossy(&one_shot));
        let byte_wise = redact_in_pieces(&shared, &input, &[1; 8192], &flushes);
        prop_assert_eq!(&byte_wise, &one_shot);
        for s in &secrets {
            prop_assert!(!contains(&one_shot, s), "{} leaked", String::from_utf8_lossy(s));
        }
        let count = |b: &[u8]| b.iter().filter(|&&x| x == b'\n').count();
        prop_assert_eq!(count(&one_shot) + commands, count(&input));
    }
}
