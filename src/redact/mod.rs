//! The streaming redactor: replaces secrets in a byte stream as it flows,
//! sharing the scanner's compiled rule set.
//!
//! # Why it never leaks
//!
//! Every known value and each of its encodings (see [`encodings`]) is a
//! *needle*; every keyword of the selected rules is an *anchor*. All of
//! them go into one byte-level Aho-Corasick automaton ([`automaton`]),
//! which is fed the stream one byte at a time and keeps its state across
//! reads, so where the stream is split never matters to matching.
//!
//! The redactor ([`stream::StreamRedactor`]) only ever writes bytes before
//! its *safe point*, the minimum of:
//!
//! - the start of the longest suffix read so far that is a prefix of some
//!   needle or anchor (the automaton state's depth): any needle occurrence
//!   that is not complete yet starts inside it;
//! - the start of the keyword of every anchor whose rules are undecided. A
//!   rule is decided once `max_len + 1` bytes from its keyword have been
//!   read (its match must end by then; one byte more settles `\b` and `$`),
//!   or at the line's end for a rule whose regex cannot match a newline,
//!   or at the end of input. A rule that can match a newline is also
//!   decided at the first visible byte that none of its matches can
//!   contain (its *alphabet*, every byte its regex can consume, see
//!   [`patterns::match_alphabet`]): a match containing the keyword is
//!   contiguous, so it ends before that byte, and the region includes the
//!   byte to settle `\b` and `$`. And a rule anchored inside a private-key
//!   marker is decided at the end of the marker's line, on that line alone
//!   (see *Private-key blocks*). Then the rule's regex runs, through the
//!   scanner's [`Engine`](crate::engine::Engine) with all its checks, on the
//!   region around the keyword, and the secret of each match containing the
//!   keyword is masked;
//! - the start of an unfinished escape sequence, of a line that is (or
//!   may still become) an `::add-mask::` command, and of the current line
//!   of an open private-key block.
//!
//! Every one of these decisions depends on the bytes read alone, never on
//! how they were split or when they came, so every mask is the same for
//! every chunking; the safe point only decides *when* bytes are written.
//!
//! One exception moves the safe point forward: when it falls inside a mask
//! already decided, the rest of that mask and the transparent bytes right
//! after it (a wrapped line's break, escape sequences) go out too. Masked
//! bytes are written as the replacement whatever comes next, and
//! transparent bytes are written as they are even inside a mask, so no
//! secret byte can come out. A later match overlapping what was written
//! *continues* that mask: when only transparent bytes lie between the last
//! mask written and the write position, the new mask writes no second
//! replacement, exactly as the one merged mask of a single read would.
//!
//! A needle match is masked as soon as its last byte is read; since its
//! first byte was held (it was inside the pending prefix), no byte of it
//! has been written. Overlapping masks are merged into their union, so a
//! mask is written as one replacement whatever the order matches are found
//! in. Matching sees the *visible* stream: CSI and other short ANSI escape
//! sequences are transparent to the automaton and to the rules, and are
//! copied to the output even from inside a masked secret. A `\r` is an
//! ordinary byte, so `S\rXXXX` is masked like `S XXXX`.
//!
//! # Wrapped base64
//!
//! The line break (`\n` or `\r\n`) after a *wrapped line* is transparent
//! too, exactly like an escape sequence: it is left out of the visible
//! stream and kept in the output, also inside a mask. A wrapped line is a
//! line of exactly 64 or 76 visible characters (the widths of `base64`,
//! `openssl base64` and PEM writers), all from the standard or URL-safe
//! base64 alphabet, `=` only at its end. So the needles hold no wrapped
//! forms: for a value inside base64 output wrapped at 64 or 76 columns,
//! every line but the last has exactly that width, every break but the
//! last is transparent, and the visible stream holds the unwrapped base64
//! text, of which the value's trimmed base64 needle is a substring whatever
//! the value's byte offset (see [`encodings`]). The match is masked like
//! any other, from its first raw byte to its last, so the breaks inside it
//! are written between replacement and the rest of the line.
//!
//! Why this keeps the guarantees:
//!
//! - *Chunking cannot change what is transparent.* Whether a break is
//!   transparent depends only on the bytes of its line (checked at the
//!   `\r` or `\n`, from the line's start, which the buffer keeps while the
//!   line is short enough to qualify) and, for `\r`, on the one byte after
//!   it. A `\r` ending a would-be wrapped line is held, unseen by matching,
//!   until that byte arrives (or input ends, when it is an ordinary byte);
//!   a timed flush stops before it. So the visible stream, hence every
//!   match and mask, is the same for every split of the input.
//! - *Nothing that could become a match is written.* The automaton's depth
//!   counts visible bytes; the held region starts where those bytes start
//!   in the raw stream, counting back across transparent breaks. A partial
//!   match spanning a break therefore holds its bytes on both lines, and
//!   the rest of the argument above is unchanged.
//! - *Other lines still leave at their newline.* Only a transparent break
//!   can leave bytes of a completed line held, and then only the suffix
//!   that is still a prefix of some needle or an unfinished rule keyword.
//!   An ordinary line's newline is a visible byte: it goes out as before.
//!
//! Joining a wrapped line to the next can only add needle matches (a
//! needle spanning a full-width base64 line and whatever follows): an
//! occurrence that does not span the break is still contiguous once the
//! break is left out. A needle that itself holds line breaks (a PEM key,
//! registered whole) is looked for as matching sees it: the breaks after
//! its inner lines that are wrapped lines are left out of it, and when its
//! first line could end a wrapped line (base64 characters, at most 76,
//! whose stream line may start earlier) both forms are needles. Rules are
//! unaffected: the text their regexes see keeps these breaks, and their
//! anchors are decided at them as at any line end.
//!
//! Output is line-buffered: completed lines go out at their newline; a
//! partial line (a prompt, a progress bar redrawn with `\r`) waits for its
//! newline, for the timed flush ([`stream::StreamRedactor::flush_partial`],
//! which writes up to the safe point, `--flush-ms` after the bytes were
//! first held), or until it grows past a bound. Held bytes are bounded by
//! the longest needle, the largest rule reach, that bound, the longest
//! command line and the longest line a key block takes
//! ([`pem::MAX_LINE`]), so memory is bounded on a line of any length.
//!
//! # Private-key blocks
//!
//! A PEM private key printed line by line is masked a line at a time
//! ([`pem`]), so neither a key cut short (`head -10 key.pem`) nor a lone
//! header waits for an END marker. At the end of a line holding a
//! private-key BEGIN marker followed only by blanks, a block opens. Each
//! following line is held from its start while it could still belong to
//! the block: a base64 body line (no longer than the first), an armor
//! header (`Proc-Type: ...`, `Comment: ...`) or the blank line after the
//! headers, an OpenPGP checksum after a short last line, or the END marker.
//! At its line break a body or header line is masked (its non-blank bytes,
//! the break kept) and goes out; the END marker closes the block and is
//! kept. The first byte that no such line can have (a space between two
//! words, `(`, `.`) or a line break ending any other line closes the block
//! and releases the line as ordinary text. The rules anchored inside a
//! marker are decided at the marker's line end on that line alone, so the
//! one-line forms (a JSON `\n`-escaped key, `echo $KEY`) are still masked by
//! the rule, and a block's lines are never held for its END.
//!
//! Classifying a line needs only its visible bytes, so the chunking
//! cannot change what is masked. Nothing of a held line is written before
//! it is classified; once it is a body line its bytes are masked; a line
//! classified as ordinary was held, so nothing of it was written early.
//!
//! # In-band commands
//!
//! `::add-mask::VALUE` lines are read as the GitHub Actions runner reads
//! them ([`command`]): leading blanks, the name in any case, properties
//! after a space (`::add-mask k=v::VALUE`), and `%0D`, `%0A`, `%25` in
//! VALUE. The line's start is held while it could still become one; a
//! command line is never written, and registers VALUE for every stream of
//! the run from the next byte on. The runner's legacy form
//! `##[add-mask]VALUE` counts anywhere in a line: its prefix is an anchor
//! of the automaton, and from that anchor's first byte the rest of the
//! line is held (so nothing of VALUE is written), then dropped and VALUE
//! registered at the line break; the text before it and the break stay. A value with line breaks, from any
//! source, also registers each of its lines (and each line without the
//! blanks around it) of at least `--min-length` bytes on its own, as the
//! runner does, so part of a known key printed alone is masked.
//!
//! Matching is ASCII case-insensitive (case variants of a value are masked
//! too: more masking, never less). Inline allow markers
//! (`gitleaks:allow`...) exempt lines of a scanned file, not of a stream.
//!
//! Limits: a rule whose secret begins before its keyword can only be
//! masked from the held region on (the private-key rule's secret begins
//! at `-----BEGIN`, before its keyword, so a timed flush in the middle of
//! a marker line can leave that line's one-line key masked from the
//! keyword on); a multi-line match longer than
//! [`patterns::MULTI_LINE_REACH_CAP`] is not masked, and a multi-line rule
//! holds output until a byte outside its alphabet, its reach, or the end
//! of input; a block line that is only base64 after a key header (a
//! lone word such as `Compiling`) is masked as a possible last body line;
//! OSC strings (hyperlinks, titles) are matched as ordinary text; a line
//! dropped as `::add-mask::` joins its neighbours.

pub mod ansi;
pub mod automaton;
pub mod command;
pub mod encodings;
pub mod patterns;
pub mod pem;
pub mod stream;
pub mod values;

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

pub use patterns::RuleSelection;
pub use stream::{redact_all, RedactConfig, Redaction, StreamRedactor};

/// Size of one read from the input.
const READ_SIZE: usize = 64 * 1024;
/// Reads that may wait for the redactor before the reader blocks.
const CHANNEL_DEPTH: usize = 16;

/// How a pump ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpEnd {
    /// The input ended and everything was written.
    Finished,
    /// The output was closed by its reader (`| head -1`): writing stopped.
    OutputClosed,
    /// The input was abandoned ([`InputCut`]) while still open: what could
    /// not be part of a secret was written, the rest dropped.
    Cut,
}

/// A read error telling [`pump`] that its input is given up mid-stream
/// (a background process still holds the pipe): unlike an end of input,
/// bytes held because they may start a secret are dropped, never written,
/// since the rest of that secret will never be read.
#[derive(Debug, Clone, Copy)]
pub struct InputCut;

impl std::fmt::Display for InputCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("input abandoned while still open")
    }
}

impl std::error::Error for InputCut {}

enum Chunk {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

/// Copies `input` to `output` through `redactor`. A reader thread feeds a
/// channel; a partial line held for `flush_after` is flushed up to what
/// could still become a secret.
/// Each emitted batch is written and flushed at once. On a read or write
/// error nothing more is written (held bytes are never passed on raw).
/// `warn` receives the redactor's messages.
pub fn pump<R, W>(
    input: R,
    input_name: &str,
    output: &mut W,
    redactor: &mut StreamRedactor,
    flush_after: Duration,
    warn: &mut dyn FnMut(String),
) -> Result<PumpEnd>
where
    R: Read + Send + 'static,
    W: Write + ?Sized,
{
    let (tx, rx) = mpsc::sync_channel::<Chunk>(CHANNEL_DEPTH);
    std::thread::Builder::new()
        .name("leakscrub-reader".into())
        .spawn(move || read_loop(input, tx))
        .context("starting the reader thread")?;

    let mut out = Vec::with_capacity(READ_SIZE + 1024);
    // When held bytes of a partial line must go out if nothing completes
    // them: `flush_after` from when they were first held, so a progress
    // bar redrawn faster than that still shows.
    let mut deadline: Option<Instant> = None;
    loop {
        let chunk = match deadline {
            Some(due) => {
                let wait = due.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => {
                        deadline = None;
                        redactor.flush_partial(&mut out);
                        if write_batch(output, &mut out)? == PumpEnd::OutputClosed {
                            return Ok(PumpEnd::OutputClosed);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => Chunk::End,
                }
            }
            None => rx.recv().unwrap_or(Chunk::End),
        };
        match chunk {
            Chunk::Data(data) => {
                redactor.push(&data, &mut out);
                for w in redactor.take_warnings() {
                    warn(w);
                }
                if !redactor.has_pending() {
                    deadline = None;
                } else if deadline.is_none() {
                    deadline = Some(Instant::now() + flush_after);
                }
                if write_batch(output, &mut out)? == PumpEnd::OutputClosed {
                    return Ok(PumpEnd::OutputClosed);
                }
            }
            Chunk::End => {
                redactor.finish(&mut out);
                for w in redactor.take_warnings() {
                    warn(w);
                }
                return write_batch(output, &mut out);
            }
            Chunk::Failed(e) if e.get_ref().is_some_and(|inner| inner.is::<InputCut>()) => {
                redactor.flush_partial(&mut out);
                return match write_batch(output, &mut out)? {
                    PumpEnd::Finished => Ok(PumpEnd::Cut),
                    other => Ok(other),
                };
            }
            Chunk::Failed(e) => {
                return Err(anyhow::Error::new(e).context(format!("reading {input_name}")));
            }
        }
    }
}

fn read_loop<R: Read>(mut input: R, tx: mpsc::SyncSender<Chunk>) {
    loop {
        let mut buf = vec![0u8; READ_SIZE];
        match input.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Chunk::End);
                return;
            }
            Ok(n) => {
                buf.truncate(n);
                // A closed receiver means the output is gone: dropping the
                // input lets a writing child see a broken pipe.
                if tx.send(Chunk::Data(buf)).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Chunk::Failed(e));
                return;
            }
        }
    }
}

fn write_batch<W: Write + ?Sized>(output: &mut W, out: &mut Vec<u8>) -> Result<PumpEnd> {
    if out.is_empty() {
        return Ok(PumpEnd::Finished);
    }
    let result = output.write_all(out).and_then(|()| output.flush());
    out.clear();
    match result {
        Ok(()) => Ok(PumpEnd::Finished),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(PumpEnd::OutputClosed),
        Err(e) => Err(anyhow::Error::new(e).context("writing the output")),
    }
}
