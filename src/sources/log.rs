//! Saved build logs: plain files, standard input, and log archives and
//! compressed logs (a GitHub Actions `.zip` of per-step `.txt` logs, a
//! `.tar.gz`, a `.gz` or `.zst` log), recognised by their first bytes,
//! whatever their name, and unpacked by the shared stage with each member
//! read as a log.
//!
//! Each log is normalised before matching, line by line, so that what the
//! rules see is the text a reader saw:
//!
//! * ANSI escape sequences are removed: CSI (colours, cursor moves, erase),
//!   charset selects and other two- and three-byte escapes, and the string
//!   sequences (OSC, DCS, SOS, PM, APC). The text of an OSC sequence (a
//!   window title, a hyperlink's URL) is not dropped but scanned as a
//!   separate word: a URL with credentials must not hide in a hyperlink.
//! * A timestamp at the start of a line is removed: GitHub Actions'
//!   `2026-01-02T03:04:05.1234567Z `, any ISO-8601 date-time with `Z` or a
//!   numeric offset, and GitLab's `00O ` / `01E+ ` stream marker after it.
//!   A UTF-8 byte order mark at a line start goes too.
//! * GitLab's `section_start:<time>:<name>[options]\r` and `section_end:`
//!   markers are removed. GitHub's workflow commands (`##[group]`,
//!   `::add-mask::`) are kept: they are text a reader sees.
//! * A carriage return is kept as it is. A progress line rewritten in place
//!   (`10%\r20%\r`) is therefore scanned in full, every overwritten
//!   segment included, with the `\r` separating them as whitespace would: a
//!   secret printed then overwritten is still found, which keeping only the
//!   last segment would miss.
//!
//! Findings carry the line and column of the original input: every run of
//! kept bytes records where it came from. A log is read in bounded memory:
//! lines longer than the chunk size are cut into pieces (a sequence cut by
//! such a cut is not recognised as one), and chunks overlap by the
//! engine's window so no match is lost at a chunk boundary.

use std::fs::File;
use std::io::{self, BufRead};
use std::path::Path;

use super::describe_io_error;
use super::paths::{file_fingerprint_path, unreadable_kind};
use super::{BlobSink, Chunk, Provenance};
use crate::blob::stage::{scan_blob, BlobKind, StageOptions};
use crate::blob::{Blob, Content};

/// The name standard input is reported under.
pub const STDIN_NAME: &str = "stdin";

/// Backward context kept before a chunk's new bytes, for look-behind.
const BACK_CONTEXT: usize = 256;

#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Archive descent and its limits; members are read as logs.
    pub stage: StageOptions,
    /// Logs read at once.
    pub threads: usize,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            stage: StageOptions {
                kind: BlobKind::Log,
                limits_are_errors: true,
                ..StageOptions::default()
            },
            threads: 1,
        }
    }
}

/// Scans every input (`-` is standard input). An input that cannot be read
/// is reported through `sink.error` and the others are still scanned.
pub fn scan_logs(inputs: &[String], opts: &LogOptions, sink: &dyn BlobSink) {
    let run = || {
        use rayon::prelude::*;
        inputs.par_iter().for_each(|input| {
            if sink.should_stop() {
                return;
            }
            if input == "-" {
                scan_stdin(opts, sink);
            } else {
                scan_log_file(Path::new(input), input, opts, sink);
            }
        });
    };
    // One input per pool thread at most: a thread with no input to read
    // would only cost its start-up.
    match rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.clamp(1, inputs.len().max(1)))
        .build()
    {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

fn scan_stdin(opts: &LogOptions, sink: &dyn BlobSink) {
    let blob = Blob {
        id: None,
        provenance: Provenance::path(STDIN_NAME),
        content: Content::Stream(&mut io::stdin().lock()),
    };
    scan_blob(blob, true, &opts.stage, sink);
}

fn scan_log_file(path: &Path, shown: &str, opts: &LogOptions, sink: &dyn BlobSink) {
    // Look before opening: opening a device can block or have effects.
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) => {
            sink.error(format!("{shown}: {}", describe_io_error(&e)));
            return;
        }
    };
    if md.is_dir() {
        sink.error(format!("{shown}: is a directory"));
        return;
    }
    if let Some(kind) = unreadable_kind(&md.file_type()) {
        sink.error(format!("{shown}: {kind}, not a file"));
        return;
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            sink.error(format!("{shown}: {}", describe_io_error(&e)));
            return;
        }
    };
    let fingerprint_path = file_fingerprint_path(path).unwrap_or_else(|| shown.to_string());
    let prov = Provenance::path(shown).with_fingerprint_path(fingerprint_path);
    // Only a regular file can be read again from the start; a pipe
    // (`<(cmd)`, `/dev/stdin`, a FIFO) is read once, as it comes.
    let content = if md.is_file() {
        Content::File {
            file: &mut file,
            size: md.len(),
        }
    } else {
        Content::Stream(&mut file)
    };
    let blob = Blob {
        id: None,
        provenance: prov,
        content,
    };
    scan_blob(blob, true, &opts.stage, sink);
}

/// Reads one log, normalises it and hands it to `sink` in overlapping
/// chunks, with positions mapped back to the input.
pub fn scan_log_stream<R: BufRead>(
    mut reader: R,
    prov: &Provenance,
    chunk_size: usize,
    sink: &dyn BlobSink,
) -> io::Result<()> {
    let overlap = sink.chunk_overlap();
    let chunk_size = chunk_size.max(overlap * 4).max(4096);
    let mut norm = Normalised::default();
    let mut piece = Vec::new();
    let mut total: u64 = 0;
    let mut line_no: u64 = 1;
    let mut column: u64 = 0;
    // Matches starting before this offset were reported with the previous chunk.
    let mut keep_start = 0usize;
    loop {
        piece.clear();
        let ended = read_piece(&mut reader, &mut piece, chunk_size)?;
        if piece.is_empty() {
            break;
        }
        total += piece.len() as u64;
        let body_len = piece.len() - usize::from(ended);
        normalise_piece(&piece[..body_len], line_no, column, column == 0, &mut norm);
        if ended {
            norm.push_original(b"\n", line_no, body_len as u64 + column);
            line_no += 1;
            column = 0;
        } else {
            column += piece.len() as u64;
        }
        if norm.bytes.len() >= keep_start + chunk_size {
            let keep_end = norm.bytes.len() - overlap;
            norm.emit(prov, keep_start..keep_end, sink);
            let cut = keep_end.saturating_sub(BACK_CONTEXT).max(keep_start);
            norm.drop_front(cut);
            keep_start = keep_end - cut;
            // Polled once a chunk has gone out: the scan may have all it
            // needs (`--max-findings`) or have to end (`--fail-fast`).
            if sink.should_stop() {
                break;
            }
        }
    }
    if norm.bytes.len() > keep_start {
        let end = norm.bytes.len();
        norm.emit(prov, keep_start..end, sink);
    }
    sink.finished(prov, total);
    Ok(())
}

/// Reads up to and including the next newline, or `cap` bytes. Returns
/// whether the piece ends with a newline.
fn read_piece<R: BufRead>(reader: &mut R, piece: &mut Vec<u8>, cap: usize) -> io::Result<bool> {
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(false);
        }
        let room = cap.saturating_sub(piece.len()).max(1);
        let window = &available[..available.len().min(room)];
        match memchr::memchr(b'\n', window) {
            Some(nl) => {
                piece.extend_from_slice(&window[..=nl]);
                reader.consume(nl + 1);
                return Ok(true);
            }
            None => {
                let n = window.len();
                piece.extend_from_slice(window);
                reader.consume(n);
                if piece.len() >= cap {
                    return Ok(false);
                }
            }
        }
    }
}

/// Normalised text and, for each run of it, where the run came from.
#[derive(Debug, Default)]
pub struct Normalised {
    pub bytes: Vec<u8>,
    /// Sorted by `at`: bytes from `at` on come from `line`, `column`
    /// onwards, until the next run.
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    at: usize,
    line: u64,
    /// 0-based column of the run's first byte in the input line.
    column: u64,
}

impl Normalised {
    /// Appends input bytes found at (`line`, 0-based `column`).
    pub fn push_original(&mut self, bytes: &[u8], line: u64, column: u64) {
        if bytes.is_empty() {
            return;
        }
        let at = self.bytes.len();
        let continues = self
            .runs
            .last()
            .is_some_and(|r| r.line == line && r.column + (at - r.at) as u64 == column);
        if !continues {
            self.runs.push(Run { at, line, column });
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends bytes that stand for input at (`line`, `column`) without
    /// being a copy of it (the separators around an OSC text).
    fn push_synthetic(&mut self, bytes: &[u8], line: u64, column: u64) {
        self.runs.push(Run {
            at: self.bytes.len(),
            line,
            column,
        });
        self.bytes.extend_from_slice(bytes);
        // Whatever follows starts a new run.
        self.runs.push(Run {
            at: self.bytes.len(),
            line,
            column,
        });
    }

    /// 1-based (line, column) in the input of normalised byte `offset`.
    pub fn position(&self, offset: usize) -> (u64, u64) {
        let i = self.runs.partition_point(|r| r.at <= offset);
        match i.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some(r) => (r.line, r.column + (offset - r.at) as u64 + 1),
            None => (1, offset as u64 + 1),
        }
    }

    fn emit(&self, prov: &Provenance, keep: std::ops::Range<usize>, sink: &dyn BlobSink) {
        let chunk = Chunk {
            data: &self.bytes,
            keep,
            line_base: 0,
            column_base: 0,
        };
        sink.chunk_mapped(prov, chunk, &|offset| self.position(offset));
    }

    /// Forgets the first `cut` bytes.
    fn drop_front(&mut self, cut: usize) {
        if cut == 0 {
            return;
        }
        // The run covering `cut` is kept, moved to start exactly there.
        let first = self.runs.partition_point(|r| r.at <= cut).saturating_sub(1);
        self.runs.drain(..first);
        for r in &mut self.runs {
            if r.at < cut {
                r.column += (cut - r.at) as u64;
                r.at = cut;
            }
            r.at -= cut;
        }
        self.bytes.drain(..cut);
    }
}

/// Normalises one piece of a line (without its newline) found at `line`,
/// 0-based `column`, appending to `out`.
pub fn normalise_piece(
    piece: &[u8],
    line: u64,
    column: u64,
    line_start: bool,
    out: &mut Normalised,
) {
    let mut i = 0;
    if line_start {
        i = piece.strip_prefix(b"\xef\xbb\xbf").map_or(0, |_| 3);
        i += timestamp_prefix_len(&piece[i..]);
    }
    let mut run_start = i;
    // Section markers are rare: look for them only in lines that have one,
    // instead of stopping at every `s`.
    let sections = memchr::memmem::find(&piece[i..], b"section_").is_some();
    let next = |from: usize| {
        if sections {
            memchr::memchr2(0x1b, b's', &piece[from..])
        } else {
            memchr::memchr(0x1b, &piece[from..])
        }
    };
    while let Some(found) = next(i) {
        let at = i + found;
        let rest = &piece[at..];
        let (skip, text) = if rest[0] == 0x1b {
            escape_len(rest)
        } else {
            match section_marker_len(rest) {
                Some(n) => (n, None),
                None => (0, None),
            }
        };
        if skip == 0 {
            i = at + 1;
            continue;
        }
        out.push_original(&piece[run_start..at], line, column + run_start as u64);
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            let here = column + at as u64;
            out.push_synthetic(b" ", line, here);
            let text_at = text.as_ptr() as usize - piece.as_ptr() as usize;
            out.push_original(text, line, column + text_at as u64);
            out.push_synthetic(b" ", line, here + skip as u64 - 1);
        }
        i = at + skip;
        run_start = i;
    }
    out.push_original(&piece[run_start..], line, column + run_start as u64);
}

fn digits(s: &[u8], n: usize) -> bool {
    s.len() >= n && s[..n].iter().all(u8::is_ascii_digit)
}

/// Length of a CI timestamp prefix (with its trailing space) at the start
/// of `s`, or 0.
pub fn timestamp_prefix_len(s: &[u8]) -> usize {
    // YYYY-MM-DD[T ]HH:MM:SS
    if !(digits(s, 4)
        && s.get(4) == Some(&b'-')
        && digits(&s[5..], 2)
        && s.get(7) == Some(&b'-')
        && digits(&s[8..], 2)
        && matches!(s.get(10), Some(b'T'))
        && digits(&s[11..], 2)
        && s.get(13) == Some(&b':')
        && digits(&s[14..], 2)
        && s.get(16) == Some(&b':')
        && digits(&s[17..], 2))
    {
        return 0;
    }
    let mut i = 19;
    if s.get(i) == Some(&b'.') || s.get(i) == Some(&b',') {
        let frac = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if frac == 0 {
            return 0;
        }
        i += 1 + frac;
    }
    match s.get(i) {
        Some(b'Z') => i += 1,
        Some(b'+' | b'-') => {
            let off = &s[i + 1..];
            if digits(off, 2) && off.get(2) == Some(&b':') && digits(&off[3..], 2) {
                i += 6;
            } else if digits(off, 4) {
                i += 5;
            } else {
                return 0;
            }
        }
        _ => return 0,
    }
    match s.get(i) {
        Some(b' ') => i += 1,
        // An empty output line is the bare timestamp.
        None => return i,
        _ => return 0,
    }
    // GitLab: a stream number, O(ut) or E(rr), and `+` on continued lines.
    let rest = &s[i..];
    if digits(rest, 2) && matches!(rest.get(2), Some(b'O' | b'E')) {
        let mut n = 3;
        if rest.get(n) == Some(&b'+') {
            n += 1;
        }
        if rest.get(n) == Some(&b' ') {
            i += n + 1;
        }
    }
    i
}

/// Length of a GitLab `section_start:` / `section_end:` marker (through its
/// `\r`) at the start of `s`.
pub fn section_marker_len(s: &[u8]) -> Option<usize> {
    let rest = s
        .strip_prefix(b"section_start:")
        .or_else(|| s.strip_prefix(b"section_end:"))?;
    let head = s.len() - rest.len();
    let time = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if time == 0 || rest.get(time) != Some(&b':') {
        return None;
    }
    let name_at = time + 1;
    let name = rest[name_at..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    if name == 0 {
        return None;
    }
    let mut i = name_at + name;
    if rest.get(i) == Some(&b'[') {
        let close = memchr::memchr(b']', &rest[i..])?;
        i += close + 1;
    }
    if rest.get(i) != Some(&b'\r') {
        return None;
    }
    Some(head + i + 1)
}

/// Length of the escape sequence at the start of `s` (`s[0]` is ESC) and,
/// for OSC sequences, the text they carry.
fn escape_len(s: &[u8]) -> (usize, Option<&[u8]>) {
    let Some(&kind) = s.get(1) else {
        return (1, None);
    };
    match kind {
        b'[' => {
            let mut j = 2;
            while s.get(j).is_some_and(|b| (0x30..=0x3f).contains(b)) {
                j += 1;
            }
            while s.get(j).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                j += 1;
            }
            if s.get(j).is_some_and(|b| (0x40..=0x7e).contains(b)) {
                j += 1;
            }
            (j, None)
        }
        b']' | b'P' | b'X' | b'^' | b'_' => {
            // String sequences end with BEL or ST (ESC \). One that never
            // ends on this line is not swallowed: only its introducer goes.
            let body = &s[2..];
            let mut end = None;
            for (k, &b) in body.iter().enumerate() {
                if b == 0x07 {
                    end = Some((k, 1));
                    break;
                }
                if b == 0x1b {
                    if body.get(k + 1) == Some(&b'\\') {
                        end = Some((k, 2));
                    }
                    break;
                }
            }
            let Some((k, term)) = end else {
                return (2, None);
            };
            let text = (kind == b']').then(|| osc_text(&body[..k]));
            (2 + k + term, text)
        }
        0x20..=0x2f => {
            let mut j = 1;
            while s.get(j).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                j += 1;
            }
            if s.get(j).is_some_and(|b| (0x30..=0x7e).contains(b)) {
                j += 1;
            }
            (j, None)
        }
        0x30..=0x7e => (2, None),
        _ => (1, None),
    }
}

/// The human-meaningful part of an OSC body: a hyperlink's URL
/// (`8;params;URL`), a title's text (`0;title`).
fn osc_text(body: &[u8]) -> &[u8] {
    let Some(first) = memchr::memchr(b';', body) else {
        return &body[body.len()..];
    };
    let after = &body[first + 1..];
    if &body[..first] == b"8" {
        return match memchr::memchr(b';', after) {
            Some(second) => &after[second + 1..],
            None => &after[after.len()..],
        };
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SkipReason;

    /// Normalises a whole text; returns the text and the original position
    /// of each kept byte.
    fn normalise(text: &[u8]) -> (Vec<u8>, Normalised) {
        let mut n = Normalised::default();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            normalise_piece(line, i as u64 + 1, 0, true, &mut n);
            n.push_original(b"\n", i as u64 + 1, line.len() as u64);
        }
        (n.bytes.clone(), n)
    }

    #[test]
    fn strips_timestamps_ansi_and_sections() {
        let log = b"\xef\xbb\xbf2026-01-02T03:04:05.1234567Z ##[group]Run build\n\
            2026-01-02T03:04:05+01:00 \x1b[1;31merror\x1b[0m: x\n\
            2024-03-12T10:27:48.212118Z 00O+ \x1b[0Ksection_start:1700000000:build[collapsed=true]\r\x1b[0K\x1b[36;1mStep\x1b[0;m\n\
            section_end:1700000001:build\r\x1b[0Kdone\x1b(B\x1b]0;title\x07 end";
        let (text, _) = normalise(log);
        assert_eq!(
            String::from_utf8_lossy(&text),
            "##[group]Run build\nerror: x\nStep\ndone title  end\n"
        );
    }

    #[test]
    fn positions_map_back_to_the_input() {
        let log = b"2026-01-02T03:04:05.1234567Z ab\x1b[31mcd\x1b[0mef\n\x1b[1mxy";
        let (text, n) = normalise(log);
        assert_eq!(&text, b"abcdef\nxy\n");
        let col_of = |needle: &[u8]| log.iter().position(|&b| b == needle[0]).unwrap() + 1;
        assert_eq!(n.position(0), (1, col_of(b"a") as u64));
        assert_eq!(n.position(2), (1, col_of(b"c") as u64));
        assert_eq!(n.position(4), (1, col_of(b"e") as u64));
        assert_eq!(n.position(7), (2, 5));
    }

    #[test]
    fn hyperlink_urls_stay_visible() {
        let (text, _) =
            normalise(b"see \x1b]8;;https://u:p4ss@example.com/x\x1b\\link\x1b]8;;\x1b\\ now");
        assert_eq!(&text, b"see  https://u:p4ss@example.com/x link now\n");
    }

    #[test]
    fn carriage_returns_keep_every_segment() {
        let (text, _) = normalise(b"10%\rsecret-here\rXXXXXXXXXXX");
        assert_eq!(&text, b"10%\rsecret-here\rXXXXXXXXXXX\n");
    }

    #[test]
    fn unterminated_osc_does_not_swallow_the_line() {
        let (text, _) = normalise(b"a\x1b]0;ghp_visible-rest");
        assert_eq!(&text, b"a0;ghp_visible-rest\n");
    }

    #[test]
    fn timestamps_need_their_full_shape() {
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05Z x"), 21);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05.1Z x"), 23);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05-0700 x"), 25);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05 x"), 0);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05.1234567Z"), 28);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05.1234567Zx"), 0);
        assert_eq!(timestamp_prefix_len(b"2026-01-02 x"), 0);
        assert_eq!(timestamp_prefix_len(b"2026-01-02T03:04:05.Z x"), 0);
        assert_eq!(section_marker_len(b"section_start:1:a\rX"), Some(18));
        assert_eq!(section_marker_len(b"section_start:1:a X"), None);
    }

    /// Records every kept byte with the position the source gave it.
    struct Recorder {
        seen: std::sync::Mutex<Vec<(u64, u64, u8)>>,
    }

    impl BlobSink for Recorder {
        fn chunk_overlap(&self) -> usize {
            100
        }
        fn chunk(&self, _: &Provenance, _: Chunk<'_>) {
            panic!("log chunks always carry a position map");
        }
        fn chunk_mapped(
            &self,
            _: &Provenance,
            c: Chunk<'_>,
            position: &dyn Fn(usize) -> (u64, u64),
        ) {
            let mut seen = self.seen.lock().unwrap();
            for i in c.keep.clone() {
                let (line, column) = position(i);
                seen.push((line, column, c.data[i]));
            }
        }
        fn finished(&self, _: &Provenance, _: u64) {}
        fn skipped(&self, _: &str, _: SkipReason) {}
        fn error(&self, _: String) {}
    }

    fn record(log: &[u8], chunk_size: usize) -> Vec<(u64, u64, u8)> {
        let rec = Recorder {
            seen: std::sync::Mutex::new(Vec::new()),
        };
        scan_log_stream(log, &Provenance::path("t"), chunk_size, &rec).unwrap();
        rec.seen.into_inner().unwrap()
    }

    #[test]
    fn chunks_cover_every_kept_byte_once_at_its_input_position() {
        let mut log = Vec::new();
        for i in 0..2000 {
            log.extend_from_slice(
                format!(
                    "2026-01-02T03:04:05.{i:07}Z \x1b[3{}mline\x1b[0m {i} {}\n",
                    i % 8,
                    "x".repeat(i % 53)
                )
                .as_bytes(),
            );
        }
        // A line far longer than a chunk, and no final newline. (An escape
        // sequence cut where such a line is cut is not recognised, so this
        // one has none.)
        log.extend_from_slice(b"\x1b[1m");
        log.extend_from_slice(&b"w".repeat(15000));
        let seen = record(&log, 4096);
        // Every kept byte is a byte of the input, at the place it claims.
        let lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
        for &(line, column, byte) in &seen {
            let text = lines[line as usize - 1];
            let at = column as usize - 1;
            if byte == b'\n' {
                assert_eq!(at, text.len());
            } else {
                assert_eq!(text[at], byte, "line {line} column {column}");
            }
        }
        // And nothing is lost or repeated: the same as one big chunk.
        let whole = record(&log, 1 << 30);
        assert!(
            seen == whole,
            "{} bytes chunked, {} whole",
            seen.len(),
            whole.len()
        );
        let (text, _) = normalise(&log);
        // `normalise` ends every line, the last one included, with `\n`.
        assert_eq!(whole.len() + 1, text.len());
    }

    #[test]
    fn dropping_the_front_keeps_positions() {
        let (_, mut n) = normalise(b"ab\x1b[1mcdefgh\nijk");
        let before: Vec<_> = (3..n.bytes.len()).map(|o| n.position(o)).collect();
        n.drop_front(3);
        let after: Vec<_> = (0..n.bytes.len()).map(|o| n.position(o)).collect();
        assert_eq!(before, after);
    }
}
