//! Encoded runs inside a blob: base64, hex, percent-encoding, backslash
//! string escapes and shell line continuations. A secret written in one of
//! them is invisible to the rules (`Z2hwX...` holds no `ghp_`), so each run
//! that decodes to text is handed back as bytes to scan in its own right,
//! with the span of the encoded text in the parent for its position.
//!
//! Only runs that decode to text are kept: base64 and hex of binary data
//! (hashes, compiled keys, images) and identifiers that merely look like
//! base64 decode to bytes that are not text, and scanning them would cost
//! time and only find noise. That one test keeps the cost of decoding close
//! to one pass over the bytes on ordinary source trees.

use std::ops::Range;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// How a decoded span was encoded in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    Base64,
    Hex,
    Percent,
    /// A quoted string with backslash escapes (JSON, JavaScript, Python,
    /// shell double quotes).
    Escaped,
    /// Lines joined where a backslash ends a line (shell, Dockerfile, make).
    LineContinuation,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escaped => "escaped",
            Encoding::LineContinuation => "line-continuation",
        }
    }
}

/// One encoded run and what it decodes to.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedSpan {
    pub encoding: Encoding,
    /// Where the encoded text lies in the parent.
    pub span: Range<usize>,
    pub bytes: Vec<u8>,
}

/// Debug output leaves out the decoded bytes: they are what a secret was
/// hidden in, and a `{:?}` in a log or a panic must not show it.
impl std::fmt::Debug for DecodedSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedSpan")
            .field("encoding", &self.encoding)
            .field("span", &self.span)
            .field("decoded_len", &self.bytes.len())
            .finish()
    }
}

/// Bounds on what one blob may decode to.
#[derive(Debug, Clone)]
pub struct DecodeLimits {
    /// Shortest base64 run looked at.
    pub min_base64: usize,
    /// Shortest hex run looked at.
    pub min_hex: usize,
    /// Longest encoded run decoded; longer ones are left alone.
    pub max_span: usize,
    /// Most decoded bytes returned for one blob, all spans together.
    pub max_total: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            min_base64: 16,
            min_hex: 32,
            max_span: 1 << 20,
            max_total: 16 << 20,
        }
    }
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Every encoded run of `data` that decodes to text, in order of position.
/// Decoded bytes that equal their encoded text are left out: scanning them
/// again would find nothing new.
pub fn decode_spans(data: &[u8], limits: &DecodeLimits) -> Vec<DecodedSpan> {
    let mut out = Vec::new();
    let mut budget = limits.max_total;
    word_runs(data, limits, &mut out, &mut budget);
    percent_runs(data, limits, &mut out, &mut budget);
    escaped_strings(data, limits, &mut out, &mut budget);
    line_continuations(data, limits, &mut out, &mut budget);
    out.sort_by_key(|d| (d.span.start, d.span.end, d.encoding));
    out
}

/// Keeps `bytes` as the decoding of `span` if it is text, differs from the
/// encoded text, and fits what is left of the budget.
fn keep(
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
    encoding: Encoding,
    data: &[u8],
    span: Range<usize>,
    bytes: Vec<u8>,
) {
    if bytes.is_empty() || bytes.len() > *budget || bytes == data[span.clone()] || !is_text(&bytes)
    {
        return;
    }
    *budget -= bytes.len();
    out.push(DecodedSpan {
        encoding,
        span,
        bytes,
    });
}

/// Valid UTF-8 without control characters other than tab, CR and LF: what
/// configuration, source and credentials look like once decoded.
pub fn is_text(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => s
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n')),
        Err(_) => false,
    }
}

/// What a byte can be part of, as bits: one table lookup classifies it for
/// both base64 and hex.
const B64: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
const STD_ONLY: u8 = 8;
const URL_ONLY: u8 = 16;
const NOT_HEX: u8 = 32;

const CLASS: [u8; 256] = byte_classes();

const fn byte_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'0'..=b'9' => B64,
            b'A'..=b'F' => B64 | UPPER,
            b'G'..=b'Z' => B64 | UPPER | NOT_HEX,
            b'a'..=b'f' => B64 | LOWER,
            b'g'..=b'z' => B64 | LOWER | NOT_HEX,
            b'+' | b'/' => B64 | STD_ONLY | NOT_HEX,
            b'-' | b'_' => B64 | URL_ONLY | NOT_HEX,
            _ => 0,
        };
        b += 1;
    }
    t
}

/// Six-bit values of the base64 digits, both alphabets at once: a run
/// holding `+`/`/` and `-`/`_` together is never decoded.
const SEXTET: [u8; 256] = sextets();

const fn sextets() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => 0,
        };
        b += 1;
    }
    t
}

fn is_base64_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & B64 != 0
}

/// Base64 and hex runs in one pass. Both are runs of base64 bytes (hex
/// digits are among them) at least as long as the shorter minimum, so the
/// pass looks at a window of that length from its right end: the first
/// byte there that cannot be in a run moves the window past it. Most of a
/// source file is short words between punctuation, so most bytes are never
/// looked at.
fn word_runs(data: &[u8], limits: &DecodeLimits, out: &mut Vec<DecodedSpan>, budget: &mut usize) {
    let shortest = limits.min_base64.min(limits.min_hex).max(1);
    // `i` is always where a run would start: at 0 or after a byte that is
    // not part of one.
    let mut i = 0;
    while i + shortest <= data.len() {
        let window = &data[i..i + shortest];
        if let Some(q) = rightmost_non_base64(window) {
            i += q + 1;
            continue;
        }
        let start = i;
        let mut class = window.iter().fold(0, |c, &b| c | CLASS[usize::from(b)]);
        let mut end = start + shortest;
        while end < data.len() && is_base64_byte(data[end]) {
            class |= CLASS[usize::from(data[end])];
            end += 1;
        }
        let mut next = end;
        while next < data.len() && data[next] == b'=' && next - end < 2 {
            next += 1;
        }
        if end - start >= limits.min_base64 {
            base64_run(data, start..end, next, class, limits, out, budget);
        }
        if end - start >= limits.min_hex
            && (class & NOT_HEX == 0 || class & (STD_ONLY | URL_ONLY) != 0)
        {
            hex_runs(data, start..end, limits, out, budget);
        }
        i = next;
    }
}

/// The last byte of `window` that cannot be in a base64 run, looked for
/// eight bytes at a time from the end.
fn rightmost_non_base64(window: &[u8]) -> Option<usize> {
    let mut end = window.len();
    while end >= 8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&window[end - 8..end]);
        let others = non_base64_bytes(u64::from_le_bytes(word));
        if others != 0 {
            return Some(end - 8 + (63 - others.leading_zeros() as usize) / 8);
        }
        end -= 8;
    }
    window[..end].iter().rposition(|&b| !is_base64_byte(b))
}

/// The high bit of each byte of `w` that is not a base64 byte, all eight
/// bytes compared at once.
fn non_base64_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let ascii = !w & HIGH;
    let low7 = w & !HIGH;
    // With the high bit clear, adding never carries into the next byte.
    let at_least = |lo: u8| low7_add(low7, 0x80 - lo) & HIGH;
    let at_most = |hi: u8| !low7_add(low7, 0x7f - hi) & HIGH;
    let digit = at_least(b'0') & at_most(b'9');
    let folded = low7 | (ONES * 0x20);
    let letter = low7_add(folded, 0x80 - b'a') & !low7_add(folded, 0x7f - b'z') & HIGH;
    let equal = |c: u8| !low7_add(low7 ^ (ONES * u64::from(c)), 0x7f) & HIGH;
    let base64 = (digit | letter | equal(b'+') | equal(b'/') | equal(b'-') | equal(b'_')) & ascii;
    !base64 & HIGH
}

/// Adds `n` to every byte of `w`, whose bytes are all below 0x80.
fn low7_add(w: u64, n: u8) -> u64 {
    w.wrapping_add(0x0101_0101_0101_0101 * u64::from(n))
}

/// Decodes the base64 run `body` (its padding ends at `padded_end`) if it
/// can be encoded text.
fn base64_run(
    data: &[u8],
    body: Range<usize>,
    padded_end: usize,
    class: u8,
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let len = body.len();
    // Encoded text mixes cases; a run in one case is a word or a hash.
    if len > limits.max_span || class & (UPPER | LOWER) != UPPER | LOWER {
        return;
    }
    if class & (STD_ONLY | URL_ONLY) == STD_ONLY | URL_ONLY || len % 4 == 1 {
        return;
    }
    let run = &data[body.clone()];
    if !base64_starts_as_text(run) {
        return;
    }
    let engine = if class & URL_ONLY != 0 {
        &URL_SAFE
    } else {
        &STD
    };
    if let Ok(bytes) = engine.decode(run) {
        keep(
            out,
            budget,
            Encoding::Base64,
            data,
            body.start..padded_end,
            bytes,
        );
    }
}

/// Whether the first bytes `run` decodes to could begin text: identifiers
/// (`TestContainerCreate...`) fail here, before a full decode is paid for.
fn base64_starts_as_text(run: &[u8]) -> bool {
    let mut head = [0u8; 6];
    let groups = (run.len() / 4).min(2);
    for g in 0..groups {
        let q = &run[g * 4..g * 4 + 4];
        let v = q
            .iter()
            .fold(0u32, |acc, &b| acc << 6 | u32::from(SEXTET[usize::from(b)]));
        head[g * 3..g * 3 + 3].copy_from_slice(&v.to_be_bytes()[1..]);
    }
    starts_as_text(&head[..groups * 3])
}

/// Whether `head`, the first bytes of a decoding, could begin text: no
/// control byte, and UTF-8 but for a character cut at its end.
fn starts_as_text(head: &[u8]) -> bool {
    if head
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f)
    {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Hex runs inside the base64 run `within`: maximal runs of hex digits
/// between bytes that are not letters or digits.
fn hex_runs(
    data: &[u8],
    within: Range<usize>,
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let mut i = within.start;
    while i < within.end {
        if !data[i].is_ascii_hexdigit() || i > within.start && data[i - 1].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < within.end && data[i].is_ascii_hexdigit() {
            i += 1;
        }
        // A hex run ends at a word boundary; `deadbeefCafe...xyz` is a word.
        if i < within.end && data[i].is_ascii_alphanumeric() {
            continue;
        }
        let len = i - start;
        if len < limits.min_hex || len > limits.max_span || len % 2 == 1 {
            continue;
        }
        let pairs = data[start..i].chunks_exact(2);
        let head: Vec<u8> = pairs.clone().take(8).map(hex_pair).collect();
        if !starts_as_text(&head) {
            continue;
        }
        let bytes: Vec<u8> = pairs.map(hex_pair).collect();
        keep(out, budget, Encoding::Hex, data, start..i, bytes);
    }
}

fn hex_pair(p: &[u8]) -> u8 {
    hex_value(p[0]) << 4 | hex_value(p[1])
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Bytes that end a percent-encoded run: whitespace, quotes and brackets
/// around a URL or a value.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')')
}

fn percent_runs(
    data: &[u8],
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let mut from = 0;
    while let Some(p) = memchr::memchr(b'%', &data[from..]) {
        let at = from + p;
        if !(at + 2 < data.len()
            && data[at + 1].is_ascii_hexdigit()
            && data[at + 2].is_ascii_hexdigit())
        {
            from = at + 1;
            continue;
        }
        let start = data[..at]
            .iter()
            .rposition(|&b| ends_url(b))
            .map_or(0, |s| s + 1);
        let end = data[at..]
            .iter()
            .position(|&b| ends_url(b))
            .map_or(data.len(), |e| at + e);
        from = end.max(at + 1);
        if end - start > limits.max_span {
            continue;
        }
        let run = &data[start..end];
        let mut bytes = Vec::with_capacity(run.len());
        let mut k = 0;
        while k < run.len() {
            if run[k] == b'%'
                && k + 2 < run.len()
                && run[k + 1].is_ascii_hexdigit()
                && run[k + 2].is_ascii_hexdigit()
            {
                bytes.push(hex_value(run[k + 1]) << 4 | hex_value(run[k + 2]));
                k += 3;
            } else {
                bytes.push(run[k]);
                k += 1;
            }
        }
        keep(out, budget, Encoding::Percent, data, start..end, bytes);
    }
}

/// Quoted strings holding backslash escapes, decoded as JSON and the
/// C-family languages read them. A string ends at its closing quote or at
/// the end of its line; one with no escape is left alone. Only lines with
/// a backslash can hold one, so the others are passed over.
fn escaped_strings(
    data: &[u8],
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let mut from = 0;
    while let Some(p) = memchr::memchr(b'\\', &data[from..]) {
        let at = from + p;
        let line_start = memchr::memrchr(b'\n', &data[from..at]).map_or(from, |n| from + n + 1);
        let line_end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |n| at + n);
        escaped_strings_in_line(data, line_start..line_end, limits, out, budget);
        from = line_end + 1;
        if from >= data.len() {
            break;
        }
    }
}

fn escaped_strings_in_line(
    data: &[u8],
    line: Range<usize>,
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let mut i = line.start;
    while i < line.end {
        let quote = data[i];
        if quote != b'"' && quote != b'\'' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut k = start;
        let mut escapes = false;
        while k < line.end && data[k] != quote {
            if data[k] == b'\\' && k + 1 < line.end {
                escapes |= hides_text(data[k + 1]);
                k += 2;
            } else {
                k += 1;
            }
        }
        let end = k.min(line.end);
        i = if end < line.end { end + 1 } else { end };
        if !escapes || end - start > limits.max_span {
            continue;
        }
        let bytes = unescape(&data[start..end]);
        keep(out, budget, Encoding::Escaped, data, start..end, bytes);
    }
}

/// Whether an escape changes text a rule could match: quotes, backslashes,
/// slashes, `$`, backticks and code points do; `\n`, `\t` and the other
/// whitespace escapes only stand for blanks, which no secret holds, so a
/// string with nothing else is matched well enough as written (most
/// strings in source code are of that kind, and decoding them would scan
/// them twice).
fn hides_text(escaped: u8) -> bool {
    matches!(
        escaped,
        b'"' | b'\'' | b'\\' | b'/' | b'u' | b'x' | b'$' | b'`'
    )
}

/// Decodes `\n`, `\t`, `\r`, `\b`, `\f`, `\/`, `\\`, quotes, `\xNN` and
/// `\uNNNN` (with surrogate pairs); any other escaped byte stands for
/// itself, as in shell double quotes.
pub fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let e = s[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'x' if i + 2 <= s.len() && s[i..i + 2].iter().all(u8::is_ascii_hexdigit) => {
                out.push(hex_value(s[i]) << 4 | hex_value(s[i + 1]));
                i += 2;
            }
            b'u' => match hex4(s, i) {
                Some(hi) if (0xD800..0xDC00).contains(&hi) => {
                    let lo = (s.get(i + 4) == Some(&b'\\') && s.get(i + 5) == Some(&b'u'))
                        .then(|| hex4(s, i + 6))
                        .flatten()
                        .filter(|lo| (0xDC00..0xE000).contains(lo));
                    match lo {
                        Some(lo) => {
                            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            push_char(&mut out, c);
                            i += 10;
                        }
                        None => {
                            out.extend_from_slice(&s[i - 2..i + 4]);
                            i += 4;
                        }
                    }
                }
                Some(c) => {
                    push_char(&mut out, c);
                    i += 4;
                }
                None => out.extend_from_slice(b"\\u"),
            },
            other => out.push(other),
        }
    }
    out
}

fn hex4(s: &[u8], at: usize) -> Option<u32> {
    let h = s.get(at..at + 4)?;
    h.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_hexdigit()
            .then(|| acc << 4 | u32::from(hex_value(b)))
    })
}

fn push_char(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// Runs of lines joined by a trailing backslash, as a shell reads them: the
/// backslash and the line break go, the next line's indentation stays. A
/// CRLF line break counts as one: scripts and Dockerfiles saved on Windows
/// are run by tools that read it so.
fn line_continuations(
    data: &[u8],
    limits: &DecodeLimits,
    out: &mut Vec<DecodedSpan>,
    budget: &mut usize,
) {
    let mut from = 0;
    let mut continuations = Continuations::new(data);
    while let Some(at) = continuations.next(data, from) {
        let start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |n| n + 1);
        // The run goes on while each line ends in a backslash.
        let mut end = at;
        loop {
            let next = end + continuation_len(data, end);
            match memchr::memchr(b'\n', &data[next.min(data.len())..]) {
                Some(n) => match continued_at(data, next + n) {
                    Some(backslash) if backslash >= next => end = backslash,
                    _ => {
                        end = line_end(data, next + n);
                        break;
                    }
                },
                None => {
                    end = data.len();
                    break;
                }
            }
        }
        from = end.max(at + 2).min(data.len());
        if end - start > limits.max_span {
            continue;
        }
        let run = &data[start..end];
        let mut bytes = Vec::with_capacity(run.len());
        let mut k = 0;
        while k < run.len() {
            match continuation_len(run, k) {
                0 => {
                    bytes.push(run[k]);
                    k += 1;
                }
                n => k += n,
            }
        }
        keep(
            out,
            budget,
            Encoding::LineContinuation,
            data,
            start..end,
            bytes,
        );
        if from >= data.len() {
            break;
        }
    }
}

/// Backslashes that end a line, in order; each kind of line break is
/// searched for once per stretch of the data, not once per run.
struct Continuations {
    lf: Option<usize>,
    crlf: Option<usize>,
}

impl Continuations {
    const LF: &'static [u8] = b"\\\n";
    const CRLF: &'static [u8] = b"\\\r\n";

    fn new(data: &[u8]) -> Continuations {
        Continuations {
            lf: memchr::memmem::find(data, Self::LF),
            crlf: memchr::memmem::find(data, Self::CRLF),
        }
    }

    /// The first one at or after `from`.
    fn next(&mut self, data: &[u8], from: usize) -> Option<usize> {
        let find = |needle: &[u8]| memchr::memmem::find(&data[from..], needle).map(|n| from + n);
        if self.lf.is_some_and(|p| p < from) {
            self.lf = find(Self::LF);
        }
        if self.crlf.is_some_and(|p| p < from) {
            self.crlf = find(Self::CRLF);
        }
        match (self.lf, self.crlf) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The backslash that continues the line ending at the newline `nl`.
fn continued_at(data: &[u8], nl: usize) -> Option<usize> {
    let mut k = nl;
    if k > 0 && data[k - 1] == b'\r' {
        k -= 1;
    }
    (k > 0 && data[k - 1] == b'\\').then(|| k - 1)
}

/// Length of the backslash and line break at `at`, 0 if there is none.
fn continuation_len(data: &[u8], at: usize) -> usize {
    match data.get(at..(at + 3).min(data.len())) {
        Some([b'\\', b'\n', ..]) => 2,
        Some([b'\\', b'\r', b'\n']) => 3,
        _ => 0,
    }
}

/// Where the line ending at the newline `nl` ends, its CR left out.
fn line_end(data: &[u8], nl: usize) -> usize {
    if nl > 0 && data[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn decoded(data: &str) -> Vec<(Encoding, String, String)> {
        decode_spans(data.as_bytes(), &DecodeLimits::default())
            .into_iter()
            .map(|d| {
                (
                    d.encoding,
                    data[d.span.clone()].to_string(),
                    String::from_utf8_lossy(&d.bytes).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn debug_output_leaves_out_what_was_decoded() {
        let enc = STANDARD.encode("ci-bot:ghs_16C7e42F292c6912E7710c838347Ae178B4a");
        let spans = decode_spans(enc.as_bytes(), &DecodeLimits::default());
        let shown = format!("{spans:?}");
        assert_eq!(spans.len(), 1);
        assert!(!shown.contains("ghs_"), "{shown}");
        assert!(shown.contains("Base64"), "{shown}");
    }

    #[test]
    fn base64_of_text_in_a_kubernetes_secret() {
        let token = "gho_16C7e42F292c6912E7710c838347Ae178B4a";
        let enc = STANDARD.encode(token);
        let yaml = format!("kind: Secret\ndata:\n  token: {enc}\n  user: YWRtaW4=\n");
        let d = decoded(&yaml);
        assert_eq!(d, vec![(Encoding::Base64, enc, token.to_string())]);
    }

    #[test]
    fn base64_of_binary_words_and_hashes_is_left_alone() {
        let binary = STANDARD.encode([0u8, 159, 146, 150, 1, 2, 3, 200, 201, 202, 17, 18]);
        let text = format!(
            "key: {binary}\nfn TestContainerCreateWithPortBindings()\nsha: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
        );
        assert!(decoded(&text).is_empty(), "{:?}", decoded(&text));
    }

    #[test]
    fn url_safe_base64() {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("user:p>ss?w0rd>>>~~~");
        assert!(enc.contains('-') || enc.contains('_'), "{enc}");
        let d = decoded(&format!("auth={enc}"));
        assert_eq!(d[0].2, "user:p>ss?w0rd>>>~~~");
    }

    #[test]
    fn hex_of_text() {
        let hex: String = "api_key=sk_live_51Hx"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let d = decoded(&format!("blob {hex} end"));
        assert_eq!(d, vec![(Encoding::Hex, hex, "api_key=sk_live_51Hx".into())]);
    }

    #[test]
    fn percent_encoded_password_in_a_connection_string() {
        let d = decoded("DATABASE_URL=postgres://app:S3cr%40t%2Fpw@db:5432/app\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].2, "DATABASE_URL=postgres://app:S3cr@t/pw@db:5432/app");
    }

    #[test]
    fn strings_with_only_whitespace_escapes_are_matched_as_written() {
        let go = "\tlog.Printf(\"starting %s\\n\", name)\n\tfmt.Println(\"a\\tb\\r\\n\")\n";
        assert!(
            decoded(go).iter().all(|d| d.0 != Encoding::Escaped),
            "{:?}",
            decoded(go)
        );
        let quoted = "msg := \"token=\\\"abc\\\"\\n\"\n";
        assert!(decoded(quoted).iter().any(|d| d.0 == Encoding::Escaped));
    }

    #[test]
    fn json_escaped_source_in_a_notebook() {
        let line =
            r#"  "s3 = boto3.client(\"s3\", aws_secret_access_key=\"wJalrXUtnFEMI/K7MDENG\")\n","#;
        let d = decoded(line);
        let esc: Vec<_> = d.iter().filter(|x| x.0 == Encoding::Escaped).collect();
        assert_eq!(esc.len(), 1, "{d:?}");
        assert_eq!(
            esc[0].2,
            "s3 = boto3.client(\"s3\", aws_secret_access_key=\"wJalrXUtnFEMI/K7MDENG\")\n"
        );
    }

    #[test]
    fn unicode_escapes_and_surrogates() {
        assert_eq!(
            unescape(br"a\u0026b\u003c\ud83d\ude00\x41"),
            "a&b<😀A".as_bytes()
        );
        // A lone surrogate stays as written rather than becoming garbage.
        assert_eq!(unescape(br"\ud83dx"), br"\ud83dx");
        assert_eq!(unescape(br"\u12"), br"\u12");
    }

    #[test]
    fn shell_line_continuations_join_a_split_token() {
        let script = "curl -s \\\n  -H \"Authorization: token ghp_abc\\\ndef\" \\\n  https://api.github.com\necho done\n";
        let d = decoded(script);
        let joined: Vec<_> = d
            .iter()
            .filter(|x| x.0 == Encoding::LineContinuation)
            .collect();
        assert_eq!(joined.len(), 1, "{d:?}");
        assert_eq!(
            joined[0].2,
            "curl -s   -H \"Authorization: token ghp_abcdef\"   https://api.github.com"
        );
        assert!(!joined[0].1.contains("echo"));
    }

    #[test]
    fn line_continuations_with_crlf_line_breaks() {
        let script = "RUN curl -H 'token ghp_abc\\\r\ndef' \\\r\n  https://x\r\nRUN true\r\n";
        let d = decoded(script);
        let joined: Vec<_> = d
            .iter()
            .filter(|x| x.0 == Encoding::LineContinuation)
            .collect();
        assert_eq!(joined.len(), 1, "{d:?}");
        assert_eq!(joined[0].2, "RUN curl -H 'token ghp_abcdef'   https://x");
    }

    #[test]
    fn eight_bytes_at_a_time_agrees_with_one_at_a_time() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut w = *b"AAAAAAAA";
                w[at] = b;
                let expect = (!is_base64_byte(b)).then_some(at);
                assert_eq!(rightmost_non_base64(&w), expect, "byte {b:#x} at {at}");
            }
        }
        assert_eq!(rightmost_non_base64(b"ab.cdefghijklmnopq"), Some(2));
        assert_eq!(rightmost_non_base64(b"abcdefghij klmnopq"), Some(10));
        assert_eq!(rightmost_non_base64(b"x+y/z-w_0123456789ABC"), None);
    }

    #[test]
    fn budget_bounds_the_total() {
        let enc = STANDARD.encode("a fairly long line of plain text to decode");
        let text = vec![enc.as_str(); 100].join("\n");
        let limits = DecodeLimits {
            max_total: 100,
            ..DecodeLimits::default()
        };
        let total: usize = decode_spans(text.as_bytes(), &limits)
            .iter()
            .map(|d| d.bytes.len())
            .sum();
        assert!(total <= 100);
        assert!(total > 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545F4914F6CDD1Du64;
        for len in 0..400 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b"\\\"'%\r\nAZaz09+/=_-x u"[(state % 19) as usize]
                })
                .collect();
            for d in decode_spans(&data, &DecodeLimits::default()) {
                assert!(d.span.end <= data.len() && d.span.start <= d.span.end);
            }
        }
    }
}
