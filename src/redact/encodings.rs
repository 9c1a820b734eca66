//! Every form in which a known secret value can show up in build output.
//!
//! [`needles_for`] turns one value into the literal byte strings the
//! redactor's automaton looks for. Each needle is a complete, literal byte
//! string; the redactor needs no knowledge of encodings to use them.
//!
//! # Forms
//!
//! * The value itself, and for multi-line values (PEM keys) the shapes a
//!   shell or a terminal gives them: trailing newlines stripped, newlines
//!   turned into spaces (`echo $KEY`, which also collapses runs of
//!   whitespace), into `\r\n` (a PTY) and into the two characters `\n`
//!   (`set -x`, JSON). These functions never split a value into its
//!   lines; the redactor registers each line of at least `--min-length`
//!   bytes as a value of its own, as the Actions runner does, so a short
//!   line such as `{` is never a needle on its own.
//! * Base64, standard and URL-safe alphabets, of the value preceded by 0, 1
//!   or 2 unknown bytes and followed by anything. Only the characters whose
//!   six bits all come from the value are kept: the partial characters at
//!   either edge depend on the unknown neighbours. That trimmed needle is a
//!   substring of *every* base64 stream that contains the value, whatever
//!   precedes or follows it (`printf '%s\n' "$S" | base64` included). The
//!   untrimmed forms for a value that ends its stream (with and without
//!   `=` padding) are added too, so a plain `base64 <<<"$S"` is masked whole.
//! * Base64 wrapped at 64 (PEM, OpenSSL) and 76 (GNU `base64`, MIME)
//!   columns. A wrapped stream contains the trimmed needle with a `\n`
//!   after every column that reaches the width; where those newlines fall
//!   depends only on the column (the "phase") at which the needle starts.
//!   For each width all phases are produced, so the set is complete. It is
//!   also bounded: at most `width` needles per width and offset, and a
//!   needle that fits on one line before its first wrap is the unwrapped
//!   needle again (removed by deduplication). A short token (trimmed length
//!   `L` <= 64) thus adds at most `3 * (L - 1)` needles, and a 3 KB key at
//!   most `3 * (64 + 76)`. Only the standard alphabet and `\n` line ends are
//!   wrapped: that is what `base64`, `openssl base64` and PEM writers emit.
//!   Wrapped needles outnumber all the others (a 40-byte token has about
//!   155 of its 165 needles wrapped, about 9 KB in all). A matcher that
//!   handles wrapped base64 itself, by matching base64 runs with their line
//!   breaks skipped, can take [`unwrapped_needles_for`] and leave
//!   [`wrapped_base64_needles_for`] out; the trimmed needles it then
//!   matches are correct for the same reason as above.
//! * Hex, lower and upper case (`xxd -p`, `%x`, `hexdigest()`).
//! * Percent-encoding as `encodeURIComponent`, RFC 3986 (`quote(s, safe='')`),
//!   Python's `quote` (keeps `/`), and form encoding (`+` for space, as
//!   `quote_plus` and HTML forms produce), with upper- and lower-case hex.
//! * The inside of a quoted string: JSON (raw UTF-8 and ASCII-only `\uXXXX`,
//!   each with and without `\/`), Go's `encoding/json` (`json.Marshal`'s
//!   `\u0026`, `\u003c`, `\u003e`, and `\u2028`/`\u2029`, with the control
//!   escapes of Go before and since 1.22), Go `%q` and `%+q`, Python `repr`
//!   of `str` in both quote styles and of `bytes`.
//! * Base64 of base64 (`| base64 -w 0 | base64 -w 0`), the trimmed needles
//!   at every offset of both levels, plus the whole `printf`/`echo` forms;
//!   the inner level unwrapped (`-w 0`, or a value short enough for one
//!   76-column line).
//! * Shell traces: bash `set -x` single-quoting (`'\''` for a quote), its
//!   `$'...'` form for control characters, and the `'"'"'` style of
//!   `shlex.quote` and other shells; dash prints words unquoted, which the
//!   value itself covers.
//! * `$` doubled as `$$` (Make, docker compose), `'` doubled as `''`
//!   (Actions expressions, SQL, PowerShell).
//! * XML and HTML text: `&amp;`, `&lt;`, `&gt;`, `&quot;`, and `'` as
//!   `&apos;`, `&#x27;` or `&#39;`.
//!
//! Encoded needles shorter than [`MIN_ENCODED_LEN`] bytes are dropped: they
//! would mask ordinary text. The value itself is always kept; the caller
//! decides the minimum length of values.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Shortest encoded needle that is registered.
pub const MIN_ENCODED_LEN: usize = 6;

/// Widths at which base64 output is commonly wrapped.
pub const BASE64_WRAP_WIDTHS: [usize; 2] = [64, 76];

const PADDED: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const UNPADDED: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);

const STD_PADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PADDED);
const STD_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, UNPADDED);
const URL_PADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, PADDED);
const URL_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, UNPADDED);

/// The byte strings under which `value` may appear in output: the value
/// itself and each of its encodings, deduplicated, the value first.
pub fn needles_for(value: &[u8]) -> Vec<Vec<u8>> {
    build(value, true, true)
}

/// [`needles_for`] without the wrapped base64 needles (each of which
/// contains a `\n`), for a matcher that handles wrapped base64 itself.
pub fn unwrapped_needles_for(value: &[u8]) -> Vec<Vec<u8>> {
    build(value, true, false)
}

/// Only the wrapped base64 needles of [`needles_for`].
pub fn wrapped_base64_needles_for(value: &[u8]) -> Vec<Vec<u8>> {
    build(value, false, true)
}

fn build(value: &[u8], unwrapped: bool, wrapped: bool) -> Vec<Vec<u8>> {
    let mut out = NeedleSet::default();
    if unwrapped {
        out.push_value(value);
    }
    if value.is_empty() {
        return out.into_vec();
    }
    let core = trailing_newlines_stripped(value);
    if unwrapped {
        let mut variants: Vec<&[u8]> = vec![value];
        if !core.is_empty() && core.len() != value.len() {
            variants.push(core);
        }
        for v in &variants {
            out.push(v.to_vec());
            text_escapes(v, &mut out);
            hex_forms(v, &mut out);
            base64_forms(v, &mut out);
        }
        double_base64_forms(value, core, &mut out);
        if memchr::memchr(b'\n', value).is_some() && !core.is_empty() {
            multi_line_forms(core, &mut out);
        }
    }
    if wrapped {
        // The wrapped needles of the core are prefixes of the full value's
        // at the same phase, so wrapping the core alone covers both.
        let base = if core.is_empty() { value } else { core };
        wrapped_base64_forms(base, &mut out);
    }
    out.into_vec()
}

/// An insertion-ordered set of needles.
#[derive(Default)]
struct NeedleSet {
    needles: Vec<Vec<u8>>,
    seen: std::collections::HashSet<Vec<u8>>,
}

impl NeedleSet {
    fn push_value(&mut self, value: &[u8]) {
        if self.seen.insert(value.to_vec()) {
            self.needles.push(value.to_vec());
        }
    }

    /// Adds an encoded needle unless it is too short to be safe.
    fn push(&mut self, needle: Vec<u8>) {
        if needle.len() < MIN_ENCODED_LEN {
            return;
        }
        if self.seen.insert(needle.clone()) {
            self.needles.push(needle);
        }
    }

    fn push_str(&mut self, needle: String) {
        self.push(needle.into_bytes());
    }

    fn into_vec(self) -> Vec<Vec<u8>> {
        self.needles
    }
}

fn trailing_newlines_stripped(value: &[u8]) -> &[u8] {
    let mut end = value.len();
    while end > 0 && matches!(value[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &value[..end]
}

/// Forms of a multi-line value once a shell or terminal reshaped its line
/// breaks; `core` has no trailing newline.
fn multi_line_forms(core: &[u8], out: &mut NeedleSet) {
    let lines: Vec<&[u8]> = core
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    out.push(lines.join(&b' '));
    out.push(lines.join(&b"\r\n"[..]));
    out.push(lines.join(&b"\\n"[..]));
    out.push(lines.join(&b"\\r\\n"[..]));
    // `echo $KEY`: word splitting on IFS joins every run of blanks into one
    // space and drops leading and trailing blanks.
    let words: Vec<&[u8]> = core
        .split(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .filter(|w| !w.is_empty())
        .collect();
    out.push(words.join(&b' '));
}

/// Hex, lower and upper case.
pub fn hex(value: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut s = String::with_capacity(value.len() * 2);
    for &b in value {
        s.push(digits[(b >> 4) as usize] as char);
        s.push(digits[(b & 15) as usize] as char);
    }
    s
}

fn hex_forms(value: &[u8], out: &mut NeedleSet) {
    out.push_str(hex(value, false));
    out.push_str(hex(value, true));
}

/// The base64 characters fully determined by `value` when it is preceded
/// by `offset` (0, 1 or 2) unknown bytes and followed by anything.
pub fn base64_trimmed(value: &[u8], offset: usize, url_safe: bool) -> String {
    let (first, end) = determined_chars(value.len(), offset);
    if first >= end {
        return String::new();
    }
    let mut stream = vec![0u8; offset];
    stream.extend_from_slice(value);
    let engine = if url_safe { URL_UNPADDED } else { STD_UNPADDED };
    let encoded = engine.encode(&stream);
    encoded.get(first..end).unwrap_or_default().to_string()
}

/// Range of base64 character indexes whose six bits lie entirely inside
/// the value's bytes `[offset, offset + len)` of the stream.
fn determined_chars(len: usize, offset: usize) -> (usize, usize) {
    let start_bit = 8 * offset;
    let end_bit = 8 * (offset + len);
    (start_bit.div_ceil(6), end_bit / 6)
}

/// The encoding of `value` at `offset` when the value ends the stream:
/// from the first determined character to the end, padded or not.
fn base64_to_end(value: &[u8], offset: usize, engine: &GeneralPurpose) -> String {
    let (first, _) = determined_chars(value.len(), offset);
    let mut stream = vec![0u8; offset];
    stream.extend_from_slice(value);
    let encoded = engine.encode(&stream);
    encoded.get(first..).unwrap_or_default().to_string()
}

fn base64_forms(value: &[u8], out: &mut NeedleSet) {
    for offset in 0..3 {
        for url_safe in [false, true] {
            out.push_str(base64_trimmed(value, offset, url_safe));
        }
        for engine in [&STD_PADDED, &STD_UNPADDED, &URL_PADDED, &URL_UNPADDED] {
            out.push_str(base64_to_end(value, offset, engine));
        }
    }
}

/// Base64 of base64, the way a compromised CI action printed every secret
/// of its runner in 2025 to slip past masks of the values themselves
/// (`... | base64 -w 0 | base64 -w 0`). Inside any base64 stream holding
/// the value, its trimmed needle (at one of three offsets) occurs; inside
/// the base64 of that stream, the trimmed needle of *that* occurs, at one
/// of three offsets again. So these nine needles per inner alphabet catch
/// the value whatever surrounds it at either level. The whole forms of
/// `printf`/`echo` at each level (`value` with and without a trailing
/// newline, each encoding with and without one) are added too, so such an
/// output is masked to its last character.
fn double_base64_forms(value: &[u8], core: &[u8], out: &mut NeedleSet) {
    for url_safe in [false, true] {
        for inner_offset in 0..3 {
            let inner = base64_trimmed(value, inner_offset, url_safe);
            if inner.len() < 2 {
                continue;
            }
            for outer_offset in 0..3 {
                out.push_str(base64_trimmed(inner.as_bytes(), outer_offset, false));
            }
        }
    }
    let core = if core.is_empty() { value } else { core };
    for with_newline in [false, true] {
        let mut plain = core.to_vec();
        if with_newline {
            plain.push(b'\n');
        }
        let inner = STD_PADDED.encode(&plain);
        for inner_newline in [false, true] {
            let mut level = inner.clone().into_bytes();
            if inner_newline {
                level.push(b'\n');
            }
            out.push_str(STD_PADDED.encode(&level));
        }
    }
}

/// `encoded` as it appears in base64 output wrapped at `width` columns
/// when its first character sits at column `phase` (0-based).
pub fn wrap_at_phase(encoded: &[u8], width: usize, phase: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / width.max(1) + 1);
    let mut column = phase;
    for (i, &c) in encoded.iter().enumerate() {
        if column == width && i > 0 {
            out.push(b'\n');
            column = 0;
        }
        out.push(c);
        column += 1;
    }
    out
}

fn wrapped_base64_forms(value: &[u8], out: &mut NeedleSet) {
    for offset in 0..3 {
        let trimmed = base64_trimmed(value, offset, false);
        if trimmed.len() < 2 {
            continue;
        }
        for width in BASE64_WRAP_WIDTHS {
            // A needle starting at phase p wraps first after width - p
            // characters; phases that leave the whole needle on one line
            // give the unwrapped needle, so only the others are built.
            let first_phase = width.saturating_sub(trimmed.len() - 1);
            for phase in first_phase..width {
                out.push(wrap_at_phase(trimmed.as_bytes(), width, phase));
            }
        }
    }
}

fn text_escapes(value: &[u8], out: &mut NeedleSet) {
    for style in [
        PercentStyle::UriComponent,
        PercentStyle::Rfc3986,
        PercentStyle::PythonQuote,
        PercentStyle::Form,
        PercentStyle::HtmlForm,
    ] {
        out.push_str(percent_encode(value, style, true));
        out.push_str(percent_encode(value, style, false));
    }
    if let Ok(text) = std::str::from_utf8(value) {
        let json = json_escape(text, false);
        out.push_str(json.replace('/', "\\/"));
        out.push_str(json);
        let ascii = json_escape(text, true);
        out.push_str(ascii.replace('/', "\\/"));
        out.push_str(ascii);
        out.push_str(python_repr(text, '\''));
        out.push_str(python_repr(text, '"'));
        out.push_str(go_quote(value, false));
        out.push_str(go_quote(value, true));
    } else {
        out.push_str(go_quote(value, false));
        out.push_str(go_quote(value, true));
    }
    for html_safe in [true, false] {
        for short_controls in [true, false] {
            out.push_str(go_json_escape(value, html_safe, short_controls));
        }
    }
    out.push_str(python_bytes_repr(value, '\''));
    out.push_str(python_bytes_repr(value, '"'));
    out.push(shell_single_quoted(value, b"'\\''"));
    out.push(shell_single_quoted(value, b"'\"'\"'"));
    out.push(bash_ansi_c(value));
    out.push(dollar_doubled(value));
    for apostrophe in [&b"&apos;"[..], b"&#x27;", b"&#39;"] {
        out.push(markup_escape(value, apostrophe));
    }
    out.push(quote_doubled(value));
}

/// Text inside XML or HTML: `&`, `<`, `>`, `"` as entities and `'` as
/// `apostrophe` (`&apos;` from .NET's `SecurityElement.Escape`, which the
/// Actions runner masks too; `&#x27;` from Python's `html.escape`; `&#39;`
/// from Go's `html.EscapeString` and many templates).
pub fn markup_escape(value: &[u8], apostrophe: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(apostrophe),
            b => out.push(b),
        }
    }
    out
}

/// `'` doubled, as inside a single-quoted string of an Actions expression
/// (which the runner masks too), SQL or PowerShell.
pub fn quote_doubled(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    for &b in value {
        out.push(b);
        if b == b'\'' {
            out.push(b'\'');
        }
    }
    out
}

/// Which characters a percent-encoder leaves alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentStyle {
    /// JavaScript `encodeURIComponent`: keeps `A-Za-z0-9-_.!~*'()`.
    UriComponent,
    /// RFC 3986 unreserved only (`quote(s, safe='')`): `A-Za-z0-9-_.~`.
    Rfc3986,
    /// Python `urllib.parse.quote` default: RFC 3986 plus `/`.
    PythonQuote,
    /// `quote_plus` / `urlencode`: RFC 3986, space as `+`.
    Form,
    /// HTML form submission (`URLSearchParams`): `A-Za-z0-9*-._`, space as `+`.
    HtmlForm,
}

pub fn percent_encode(value: &[u8], style: PercentStyle, upper: bool) -> String {
    let mut s = String::with_capacity(value.len() * 3);
    for &b in value {
        let keep = b.is_ascii_alphanumeric()
            || match style {
                PercentStyle::UriComponent => b"-_.!~*'()".contains(&b),
                PercentStyle::Rfc3986 | PercentStyle::Form => b"-_.~".contains(&b),
                PercentStyle::PythonQuote => b"-_.~/".contains(&b),
                PercentStyle::HtmlForm => b"*-._".contains(&b),
            };
        if keep {
            s.push(b as char);
        } else if b == b' ' && matches!(style, PercentStyle::Form | PercentStyle::HtmlForm) {
            s.push('+');
        } else {
            s.push('%');
            s.push_str(&hex(&[b], upper));
        }
    }
    s
}

/// The inside of a JSON string literal. `ascii_only` escapes every
/// non-ASCII character as `\uXXXX` (UTF-16, lower-case hex), as Python's
/// `json.dumps` does by default.
pub fn json_escape(text: &str, ascii_only: bool) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\u{8}' => s.push_str("\\b"),
            '\u{c}' => s.push_str("\\f"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii_only && !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    s.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => s.push(c),
        }
    }
    s
}

/// The inside of a JSON string as Go's `encoding/json` writes it. With
/// `html_safe` (what `json.Marshal` does), `<`, `>` and `&` become
/// `\u003c`, `\u003e`, `\u0026`; `\u2028` and `\u2029` are escaped either
/// way, invalid UTF-8 becomes `\ufffd`, other control characters `\n`,
/// `\r`, `\t` or `\u00XX` (lower-case hex). Since Go 1.22 backspace and
/// form feed are `\b` and `\f` (`short_controls`); before, `\u0008` and
/// `\u000c`. Matching is case-insensitive, so .NET's upper-case
/// `\u003C` forms are covered too.
pub fn go_json_escape(value: &[u8], html_safe: bool, short_controls: bool) -> String {
    let mut s = String::with_capacity(value.len() + 8);
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                '\u{8}' if short_controls => s.push_str("\\b"),
                '\u{c}' if short_controls => s.push_str("\\f"),
                '<' | '>' | '&' if html_safe => s.push_str(&format!("\\u{:04x}", c as u32)),
                '\u{2028}' | '\u{2029}' => s.push_str(&format!("\\u{:04x}", c as u32)),
                c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
                c => s.push(c),
            }
        }
        // Go replaces each byte of an invalid sequence on its own.
        for _ in chunk.invalid() {
            s.push_str("\\ufffd");
        }
    }
    s
}

/// The inside of Python's `repr` of a `str`, for a literal delimited by
/// `quote`. Non-printable characters are approximated as control
/// characters (C0, DEL, C1); other non-ASCII text is printed as is.
pub fn python_repr(text: &str, quote: char) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if c == quote => {
                s.push('\\');
                s.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                s.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => s.push(c),
        }
    }
    s
}

/// The inside of Python's `repr` of `bytes`.
pub fn python_bytes_repr(value: &[u8], quote: char) -> String {
    let mut s = String::with_capacity(value.len() + 8);
    for &b in value {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b if b as char == quote => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            b => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// The inside of Go's `strconv.Quote` (`%q`), or `QuoteToASCII` (`%+q`)
/// when `ascii_only`. Invalid UTF-8 bytes become `\xNN`, as Go does.
pub fn go_quote(value: &[u8], ascii_only: bool) -> String {
    let mut s = String::with_capacity(value.len() + 8);
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\u{7}' => s.push_str("\\a"),
                '\u{8}' => s.push_str("\\b"),
                '\u{c}' => s.push_str("\\f"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                '\u{b}' => s.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    s.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if (0x80..0xa0).contains(&(c as u32)) => {
                    s.push_str(&format!("\\u{:04x}", c as u32))
                }
                c if ascii_only && !c.is_ascii() => {
                    if (c as u32) < 0x10000 {
                        s.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        s.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                c => s.push(c),
            }
        }
        for &b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// The inside of a single-quoted shell word in which each `'` of the value
/// is written as `quote_escape` (`'\''` for bash, `'"'"'` for `shlex.quote`).
pub fn shell_single_quoted(value: &[u8], quote_escape: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(quote_escape);
        } else {
            out.push(b);
        }
    }
    out
}

/// The inside of bash's `$'...'` quoting, which its `set -x` trace uses for
/// words with control characters.
pub fn bash_ansi_c(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        match b {
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            0x1b => out.extend_from_slice(b"\\E"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b if b < 0x20 || b == 0x7f => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            b => out.push(b),
        }
    }
    out
}

/// `$` written as `$$`, as Make and docker compose need it.
pub fn dollar_doubled(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    for &b in value {
        out.push(b);
        if b == b'$' {
            out.push(b'$');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Runs `program args` with `input` on stdin and returns its stdout.
    fn run_with_stdin(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{program} failed");
        out.stdout
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Some registered needle occurs in `hay`.
    fn some_needle_in(needles: &[Vec<u8>], hay: &[u8]) -> bool {
        needles.iter().any(|n| contains(hay, n))
    }

    /// Deterministic pseudo-random printable bytes.
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/="
                    [(x >> 33) as usize % 66]
            })
            .collect()
    }

    #[test]
    fn value_comes_first_and_needles_are_unique() {
        let needles = needles_for(b"s3cr3t-v4lue");
        assert_eq!(needles[0], b"s3cr3t-v4lue");
        let mut sorted = needles.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), needles.len());
    }

    #[test]
    fn printf_newline_base64_is_caught_at_every_length() {
        for len in 6..=20 {
            let value = sample(len, len as u64);
            let needles = needles_for(&value);
            let mut input = value.clone();
            input.push(b'\n');
            let real = run_with_stdin("base64", &["-w", "0"], &input);
            let trimmed = base64_trimmed(&value, 0, false);
            assert!(contains(&real, trimmed.as_bytes()), "len {len}");
            assert!(needles.contains(&trimmed.into_bytes()), "len {len}");
        }
    }

    #[test]
    fn trimmed_needle_occurs_whatever_surrounds_the_value() {
        for len in [6usize, 7, 8, 31, 40, 41] {
            let value = sample(len, 7 + len as u64);
            let needles = needles_for(&value);
            for prefix_len in 0..=3 {
                for suffix in [&b""[..], b"\n", b"Y", b"YZ", b"tail bytes"] {
                    let mut input = sample(prefix_len, 99);
                    input.extend_from_slice(&value);
                    input.extend_from_slice(suffix);
                    let std_out = run_with_stdin("base64", &["-w", "0"], &input);
                    let trimmed = base64_trimmed(&value, prefix_len % 3, false);
                    assert!(trimmed.len() >= MIN_ENCODED_LEN);
                    assert!(
                        contains(&std_out, trimmed.as_bytes()),
                        "len {len} prefix {prefix_len}"
                    );
                    assert!(needles.contains(&trimmed.as_bytes().to_vec()));
                    // URL-safe: the same stream through the other alphabet.
                    let url_out: Vec<u8> = std_out
                        .iter()
                        .map(|&b| match b {
                            b'+' => b'-',
                            b'/' => b'_',
                            b => b,
                        })
                        .collect();
                    let url = base64_trimmed(&value, prefix_len % 3, true);
                    assert!(contains(&url_out, url.as_bytes()));
                    assert!(needles.contains(&url.into_bytes()));
                }
            }
        }
    }

    #[test]
    fn a_value_that_ends_the_stream_is_masked_with_its_padding() {
        for len in 6..=9 {
            let value = sample(len, 3 * len as u64);
            let needles = needles_for(&value);
            let real = run_with_stdin("base64", &["-w", "0"], &value);
            assert!(needles.contains(&real), "len {len}");
            for prefix_len in 1..=2 {
                let mut input = sample(prefix_len, 17);
                input.extend_from_slice(&value);
                let real = run_with_stdin("base64", &["-w", "0"], &input);
                let tail = needles
                    .iter()
                    .filter(|n| real.ends_with(n))
                    .max_by_key(|n| n.len())
                    .unwrap();
                // All of the value's characters and the padding are covered.
                let (first, _) = determined_chars(len, prefix_len);
                assert_eq!(
                    tail.len(),
                    real.len() - first,
                    "len {len} prefix {prefix_len}"
                );
            }
        }
    }

    #[test]
    fn wrapped_base64_is_caught_at_every_phase() {
        let long = sample(300, 11);
        let short = sample(40, 12);
        for value in [&long, &short] {
            let needles = needles_for(value);
            for width in ["64", "76"] {
                for prefix_len in 0..80 {
                    let mut input = sample(prefix_len, 5);
                    input.extend_from_slice(value);
                    input.extend_from_slice(b"\n");
                    let real = run_with_stdin("base64", &["-w", width], &input);
                    assert!(
                        some_needle_in(&needles, &real),
                        "width {width} prefix {prefix_len} len {}",
                        value.len()
                    );
                }
            }
        }
    }

    #[test]
    fn the_split_helpers_partition_the_needles() {
        let value = sample(50, 21);
        let mut parts = unwrapped_needles_for(&value);
        let wrapped = wrapped_base64_needles_for(&value);
        assert!(wrapped.iter().all(|n| n.contains(&b'\n')));
        assert!(parts.iter().all(|n| !n.contains(&b'\n')));
        parts.extend(wrapped);
        let mut all = needles_for(&value);
        parts.sort();
        all.sort();
        assert_eq!(parts, all);
    }

    #[test]
    fn wrapped_needles_stay_bounded() {
        let key = sample(3000, 13);
        let wrapped = needles_for(&key)
            .into_iter()
            .filter(|n| n.contains(&b'\n'))
            .count();
        assert!(wrapped <= 3 * (64 + 76), "{wrapped}");
        let token = sample(40, 14);
        let trimmed_len = base64_trimmed(&token, 0, false).len();
        let wrapped = needles_for(&token)
            .into_iter()
            .filter(|n| n.contains(&b'\n'))
            .count();
        assert!(wrapped <= 3 * (trimmed_len - 1), "{wrapped}");
    }

    #[test]
    fn hex_matches_xxd() {
        let value = "pä\u{1}ss w0rd!".as_bytes();
        let needles = needles_for(value);
        let lower = run_with_stdin("xxd", &["-p", "-c", "256"], value);
        let lower = lower.trim_ascii_end().to_vec();
        let upper = run_with_stdin("xxd", &["-p", "-u", "-c", "256"], value);
        let upper = upper.trim_ascii_end().to_vec();
        assert_eq!(hex(value, false).as_bytes(), &lower[..]);
        assert!(needles.contains(&lower));
        assert!(needles.contains(&upper));
    }

    const TRICKY: &[&str] = &[
        "it's a p@ss w/ space",
        "say \"hi\" & 'bye'",
        "back\\slash\ttab\nnewline",
        "ünïcødé-sécret/+=?#",
        "ctl\u{1}\u{7f}bell\u{7}",
        "emoji-\u{1f511}-key",
    ];

    fn python(code: &str, arg: &str) -> Vec<u8> {
        let out = Command::new("python3")
            .args(["-c", code, arg])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout.strip_suffix(b"\n").unwrap().to_vec()
    }

    #[test]
    fn python_repr_matches_python() {
        let code = "import sys; print(repr(sys.argv[1]))";
        for v in TRICKY {
            let real = python(code, v);
            let quote = real[0] as char;
            let inner = &real[1..real.len() - 1];
            assert_eq!(python_repr(v, quote).as_bytes(), inner, "{v:?}");
            assert!(needles_for(v.as_bytes()).contains(&inner.to_vec()) || inner.len() < 6);
        }
        let code = "import sys; print(repr(sys.argv[1].encode()))";
        for v in TRICKY {
            let real = python(code, v);
            let quote = real[1] as char;
            let inner = &real[2..real.len() - 1];
            assert_eq!(python_bytes_repr(v.as_bytes(), quote).as_bytes(), inner);
        }
        // Both quote styles are registered whatever the value holds.
        let needles = needles_for(b"it's \"both\"");
        assert!(needles.contains(&b"it\\'s \"both\"".to_vec()));
        assert!(needles.contains(&b"it's \\\"both\\\"".to_vec()));
    }

    #[test]
    fn json_matches_python_and_node() {
        for v in TRICKY {
            let needles = needles_for(v.as_bytes());
            for code in [
                "import sys, json; print(json.dumps(sys.argv[1]))",
                "import sys, json; print(json.dumps(sys.argv[1], ensure_ascii=False))",
            ] {
                let real = python(code, v);
                let inner = real[1..real.len() - 1].to_vec();
                assert!(needles.contains(&inner), "{v:?} {code}");
            }
            let node = Command::new("node")
                .args(["-e", "console.log(JSON.stringify(process.argv[1]))", v])
                .output()
                .unwrap();
            let real = node.stdout.strip_suffix(b"\n").unwrap();
            assert!(needles.contains(&real[1..real.len() - 1].to_vec()), "{v:?}");
        }
    }

    #[test]
    fn percent_encodings_match_python_and_node() {
        for v in TRICKY {
            let needles = needles_for(v.as_bytes());
            for code in [
                "import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=''))",
                "import sys, urllib.parse as u; print(u.quote(sys.argv[1]))",
                "import sys, urllib.parse as u; print(u.quote_plus(sys.argv[1]))",
            ] {
                let real = python(code, v);
                assert!(needles.contains(&real), "{v:?} {code}");
            }
            for code in [
                "console.log(encodeURIComponent(process.argv[1]))",
                "console.log(new URLSearchParams({k: process.argv[1]}).toString().slice(2))",
            ] {
                let node = Command::new("node").args(["-e", code, v]).output().unwrap();
                let real = node.stdout.strip_suffix(b"\n").unwrap().to_vec();
                assert!(needles.contains(&real), "{v:?} {code}");
            }
        }
    }

    #[test]
    fn go_json_marshal_escapes_as_documented() {
        // What `json.Marshal` writes, from the `encoding/json` docs: HTML
        // characters and the JavaScript line separators as `\u` escapes.
        let value = "Amp3rs&nd<Secret>-7\u{2028}x";
        let go = "Amp3rs\\u0026nd\\u003cSecret\\u003e-7\\u2028x";
        assert_eq!(go_json_escape(value.as_bytes(), true, true), go);
        assert!(needles_for(value.as_bytes()).contains(&go.as_bytes().to_vec()));
        assert_eq!(
            go_json_escape(value.as_bytes(), false, true),
            "Amp3rs&nd<Secret>-7\\u2028x"
        );
        assert_eq!(go_json_escape(b"a\x08b\x0cc", true, true), "a\\bb\\fc");
        assert_eq!(
            go_json_escape(b"a\x08b\x0cc\x01", true, false),
            "a\\u0008b\\u000cc\\u0001"
        );
        assert_eq!(
            go_json_escape(b"ok\xe2\x82ok", true, true),
            "ok\\ufffd\\ufffdok"
        );
    }

    #[test]
    fn go_json_matches_node_with_the_html_escapes_applied() {
        // Go's output is standard JSON (as `JSON.stringify` writes it) with
        // `<`, `>`, `&`, U+2028 and U+2029 escaped afterwards.
        let code = "const s = JSON.stringify(process.argv[1]); \
            console.log(s.slice(1, -1).replace(/[<>&\\u2028\\u2029]/g, \
            c => '\\\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')))";
        for v in TRICKY
            .iter()
            .chain(&["a<b>&c", "line\u{2028}sep\u{2029}par", "x\u{8}y\u{c}z"])
        {
            let node = Command::new("node").args(["-e", code, v]).output().unwrap();
            assert!(node.status.success());
            let real = node.stdout.strip_suffix(b"\n").unwrap();
            assert_eq!(
                go_json_escape(v.as_bytes(), true, true).as_bytes(),
                real,
                "{v:?}"
            );
            assert!(needles_for(v.as_bytes()).contains(&real.to_vec()) || real.len() < 6);
        }
    }

    #[test]
    fn base64_of_base64_is_caught_whatever_surrounds_the_value() {
        let shell = |script: &str, value: &[u8]| {
            use std::os::unix::ffi::OsStrExt;
            let out = Command::new("sh")
                .args(["-c", script])
                .env("V", std::ffi::OsStr::from_bytes(value))
                .output()
                .unwrap();
            assert!(out.status.success());
            out.stdout
        };
        for len in [6usize, 7, 8, 20, 40, 41, 42] {
            let value = sample(len, 31 + len as u64);
            let needles = needles_for(&value);
            for script in [
                "printf %s \"$V\" | base64 -w0 | base64 -w0",
                "echo \"$V\" | base64 | base64 -w0",
                "printf %s \"$V\" | base64 | base64 -w0",
                "echo \"$V\" | base64 -w0 | base64 -w0",
            ] {
                let real = shell(script, &value);
                let whole = needles.iter().any(|n| real.trim_ascii_end() == &n[..]);
                assert!(whole, "len {len}: {script}");
            }
            // Inside a larger dump, at every offset at both levels.
            for before in 0..6 {
                let script = format!(
                    "{{ head -c {before} /dev/zero | tr '\\0' x; printf '\"V\":{{\"value\":\"%s\",\"isSecret\":true}}' \"$V\"; }} \
                     | base64 -w0 | {{ head -c {} /dev/zero | tr '\\0' y; cat; }} | base64 -w0",
                    before % 3
                );
                let real = shell(&script, &value);
                assert!(some_needle_in(&needles, &real), "len {len} before {before}");
            }
        }
    }

    #[test]
    fn markup_and_doubled_quotes_match_python() {
        for v in TRICKY.iter().chain(&["<b>&'q'\"dq\"</b>-tok3n"]) {
            let needles = needles_for(v.as_bytes());
            for code in [
                "import sys, html; print(html.escape(sys.argv[1]))",
                "import sys; from xml.sax.saxutils import escape; \
                 print(escape(sys.argv[1], {'\"': '&quot;', \"'\": '&apos;'}))",
            ] {
                let real = python(code, v);
                assert!(needles.contains(&real) || real.len() < 6, "{v:?} {code}");
            }
            let doubled = python("import sys; print(sys.argv[1].replace(\"'\", \"''\"))", v);
            assert!(needles.contains(&doubled) || doubled.len() < 6, "{v:?}");
        }
        assert_eq!(markup_escape(b"a'b", b"&#39;"), b"a&#39;b");
        assert_eq!(quote_doubled(b"it's"), b"it''s");
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(
            go_quote(b"a\"b\\c\n\x01\x7f", false),
            "a\\\"b\\\\c\\n\\x01\\x7f"
        );
        assert_eq!(go_quote("é\u{1f511}".as_bytes(), false), "é\u{1f511}");
        assert_eq!(
            go_quote("é\u{1f511}".as_bytes(), true),
            "\\u00e9\\U0001f511"
        );
        assert_eq!(go_quote(b"ok\xffok", false), "ok\\xffok");
    }

    /// The word bash's `set -x` trace prints for `value`.
    fn bash_trace(value: &[u8]) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        let out = Command::new("bash")
            .args(["-xc", "true \"$V\""])
            .env("V", std::ffi::OsStr::from_bytes(value))
            .output()
            .unwrap();
        let trace = out.stderr;
        let line = trace.strip_prefix(b"+ true ").unwrap();
        line.strip_suffix(b"\n").unwrap().to_vec()
    }

    #[test]
    fn bash_xtrace_quoting_is_covered() {
        let values: &[&[u8]] = &[
            b"it's my p4ss",
            b"dollar $HOME and space",
            b"'leading quote",
            b"tab\there\x01ctl",
            b"esc\x1b[0mcolour",
            b"mixed'quote\x01ctl\\",
            b"line one\nline two",
        ];
        for v in values {
            let word = bash_trace(v);
            let needles = needles_for(v);
            assert!(
                some_needle_in(&needles, &word),
                "{:?} traced as {:?}",
                String::from_utf8_lossy(v),
                String::from_utf8_lossy(&word)
            );
        }
        assert_eq!(shell_single_quoted(b"a'b", b"'\\''"), b"a'\\''b");
        assert!(needles_for(b"it's mine").contains(&b"it'\"'\"'s mine".to_vec()));
    }

    #[test]
    fn dash_xtrace_is_covered() {
        let v = b"it's a $ecret";
        let out = Command::new("dash")
            .args(["-xc", "true \"$V\""])
            .env("V", "it's a $ecret")
            .output()
            .unwrap();
        assert!(some_needle_in(&needles_for(v), &out.stderr));
    }

    #[test]
    fn dollars_are_doubled() {
        assert_eq!(dollar_doubled(b"a$b$$c"), b"a$$b$$$$c");
        assert!(needles_for(b"pa$$word$").contains(&b"pa$$$$word$$".to_vec()));
    }

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7BFUpkGp3+LQmlQ\n\
        Yx2eqzDV+xeG8kx/sQFV18S5JwzGeIJ5hLaXYUwsxRgMrV2PWfGNsdkw2Dz4fRDd\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn multi_line_values_are_masked_whole_in_every_shape() {
        let needles = needles_for(PEM.as_bytes());
        let core = PEM.trim_end_matches('\n');
        let echoed = Command::new("sh")
            .args(["-c", "echo $KEY"])
            .env("KEY", PEM)
            .output()
            .unwrap()
            .stdout;
        assert!(some_needle_in(&needles, &echoed));
        for shape in [
            core.replace('\n', " "),
            core.replace('\n', "\r\n"),
            core.replace('\n', "\\n"),
            core.to_string(),
        ] {
            assert!(needles.contains(&shape.into_bytes()));
        }
        let traced = bash_trace(PEM.as_bytes());
        assert!(some_needle_in(&needles, &traced));
        // Through a real pseudo-terminal, which turns `\n` into `\r\n`.
        let pty = Command::new("script")
            .args(["-qec", "printf '%s' \"$KEY\"", "/dev/null"])
            .env("KEY", PEM)
            .stdin(Stdio::null())
            .output()
            .unwrap()
            .stdout;
        assert!(contains(&pty, b"\r\n"));
        assert!(some_needle_in(&needles, &pty));
        // No needle is a single line of the value or shorter than a line.
        for n in &needles {
            assert!(n.len() >= 40, "{:?}", String::from_utf8_lossy(n));
        }
    }

    #[test]
    fn short_encodings_are_dropped_but_the_value_is_kept() {
        let needles = needles_for(b"abc");
        assert_eq!(needles[0], b"abc");
        assert!(needles[1..].iter().all(|n| n.len() >= MIN_ENCODED_LEN));
        assert_eq!(needles_for(b""), vec![Vec::<u8>::new()]);
        for n in &needles_for(b"abcdef")[1..] {
            assert!(n.len() >= MIN_ENCODED_LEN);
        }
    }
}
