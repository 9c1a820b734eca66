//! The streaming core: bytes in, redacted bytes out, no I/O.
//!
//! See the module docs of [`crate::redact`] for why it never leaks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::ansi::{complete_sequence_len, visible, Escape, Outcome, MAX_ESCAPE_LEN};
use super::automaton::{AnchorInfo, Automaton, ByteSet, Pattern};
use super::command::{command_values, legacy_command_values, CommandPrefix, Step, LEGACY_PREFIX};
use super::encodings::unwrapped_needles_for;
use super::patterns::{anchor_patterns, select_rules, RuleSelection};
use super::pem::{self, LineClass, LineShape};
use super::values::KnownValue;
use crate::engine::{Engine, INLINE_ALLOW_MARKERS};
use crate::rules::RuleSet;

/// The longest `::add-mask::` line kept; longer ones are dropped unregistered.
const MAX_COMMAND_LINE: u64 = 64 * 1024;
/// Context kept before the held region so a rule's regex sees what precedes
/// its keyword (`\b`, `key=`); part of a line already written.
const LOOKBEHIND: u64 = 256;
/// A partial line is normally held until its newline or the timed flush;
/// past this size its safe part goes out anyway, which bounds memory.
const PARTIAL_LINE_LIMIT: u64 = 16 * 1024;
/// Widths of the lines whose line break is transparent to matching: the
/// columns at which `base64`, `openssl base64` and PEM writers wrap.
const WRAP_WIDTHS: [u64; 2] = [64, 76];
/// A line is only checked for being wrapped base64 while its raw length
/// (escape sequences included) stays within this; the buffer keeps a line
/// this short whole, whatever was flushed of it.
const WRAP_SCAN_LIMIT: u64 = 4096;
/// The name `::add-mask::` values are reported under.
pub const ADD_MASK_NAME: &str = "add-mask";

/// How the redactor is set up.
#[derive(Debug, Clone)]
pub struct RedactConfig {
    pub rules: RuleSelection,
    /// `{rule}` and `{name}` are replaced by what matched.
    pub replacement: String,
    /// Shorter `::add-mask::` values are not registered.
    pub min_length: usize,
}

impl Default for RedactConfig {
    fn default() -> Self {
        RedactConfig {
            rules: RuleSelection::High,
            replacement: "***".into(),
            min_length: 6,
        }
    }
}

#[derive(Debug)]
struct Registry {
    needles: Vec<Pattern>,
    labels: Vec<String>,
    current: Arc<Compiled>,
}

/// One automaton over every needle and anchor, and the names of the needles.
#[derive(Debug)]
pub struct Compiled {
    automaton: Automaton,
    labels: Vec<String>,
}

/// Everything the redactors of one run share: compiled rules and the
/// registered values (a value registered on one stream is masked on all).
#[derive(Debug)]
pub struct Redaction {
    engine: Option<Engine>,
    anchors: Vec<Pattern>,
    config: RedactConfig,
    registry: Mutex<Registry>,
    generation: AtomicU64,
}

impl Redaction {
    pub fn new(rules: &RuleSet, values: &[KnownValue], config: RedactConfig) -> Result<Redaction> {
        let selected = select_rules(rules, config.rules);
        let mut anchors = anchor_patterns(&selected);
        anchors.push(Pattern::Anchor {
            bytes: LEGACY_PREFIX.to_vec(),
            info: AnchorInfo {
                keyword_len: LEGACY_PREFIX.len() as u32,
                command: true,
                ..AnchorInfo::default()
            },
        });
        let engine = if selected.rules.is_empty() {
            None
        } else {
            Some(Engine::new(Arc::new(selected))?)
        };
        let mut needles = Vec::new();
        let mut labels = Vec::new();
        for v in values {
            add_value(
                &mut needles,
                &mut labels,
                &v.name,
                &v.value,
                config.min_length,
            );
        }
        let current = Arc::new(compile(&anchors, &needles, &labels));
        Ok(Redaction {
            engine,
            anchors,
            config,
            registry: Mutex::new(Registry {
                needles,
                labels,
                current,
            }),
            generation: AtomicU64::new(0),
        })
    }

    /// Registers a value (its lines, and their encodings) from now on, on
    /// every stream.
    pub fn register(&self, name: &str, value: &[u8]) {
        self.register_all(name, &[value.to_vec()]);
    }

    /// Registers several values under one name, compiling once.
    pub fn register_all(&self, name: &str, values: &[Vec<u8>]) {
        let mut reg = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Registry {
            needles, labels, ..
        } = &mut *reg;
        for value in values {
            add_value(needles, labels, name, value, self.config.min_length);
        }
        reg.current = Arc::new(compile(&self.anchors, &reg.needles, &reg.labels));
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn current(&self) -> (u64, Arc<Compiled>) {
        let reg = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (
            self.generation.load(Ordering::Acquire),
            Arc::clone(&reg.current),
        )
    }

    pub fn config(&self) -> &RedactConfig {
        &self.config
    }

    /// Number of automaton states (for sizing and benchmarks).
    pub fn state_count(&self) -> usize {
        self.current().1.automaton.state_count()
    }
}

/// Adds the needles of `value`, of its inside when it is wrapped in double
/// quotes, and, as the runner does for a secret with line breaks, of each
/// of its lines (and each line without its blanks around) of at least
/// `min_length` bytes on its own: a part of a key printed alone (`sed -n
/// 3,4p key.pem`) is masked too.
fn add_value(
    needles: &mut Vec<Pattern>,
    labels: &mut Vec<String>,
    name: &str,
    value: &[u8],
    min_length: usize,
) {
    add_needles(needles, labels, name, value);
    // The runner also masks what is inside a value wrapped in double
    // quotes, as a tool may print it unquoted.
    if value.len() > 8 && value.starts_with(b"\"") && value.ends_with(b"\"") {
        add_needles(needles, labels, name, &value[1..value.len() - 1]);
    }
    if !value.iter().any(|&b| b == b'\n' || b == b'\r') {
        return;
    }
    let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
    seen.insert(value);
    for line in value.split(|&b| b == b'\n' || b == b'\r') {
        for part in [line, line.trim_ascii()] {
            if part.len() >= min_length.max(1) && seen.insert(part) {
                add_needles(needles, labels, name, part);
            }
        }
    }
}

fn add_needles(needles: &mut Vec<Pattern>, labels: &mut Vec<String>, name: &str, value: &[u8]) {
    let label = match labels.iter().position(|l| l == name) {
        Some(i) => i as u32,
        None => {
            labels.push(name.to_string());
            (labels.len() - 1) as u32
        }
    };
    // Wrapped base64 needs no needles of its own: its line breaks are
    // transparent to matching (see `ends_wrapped_line`).
    for encoded in unwrapped_needles_for(value) {
        // Matching sees the stream without escape sequences; a value
        // holding one must be looked for the same way.
        let bytes = if encoded.contains(&0x1b) {
            visible(&encoded)
        } else {
            encoded
        };
        for bytes in as_matched(bytes) {
            if !bytes.is_empty() {
                needles.push(Pattern::Needle { bytes, label });
            }
        }
    }
}

/// Whether `line` (without its line break) is a wrapped base64 line.
fn is_wrapped_line(line: &[u8]) -> bool {
    WRAP_WIDTHS.contains(&(line.len() as u64)) && is_base64_text(line)
}

/// Base64 characters (standard or URL-safe), `=` only at the end.
fn is_base64_text(text: &[u8]) -> bool {
    let body = text.len() - text.iter().rev().take_while(|&&b| b == b'=').count();
    text[..body]
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// The forms in which matching sees `needle` once breaks after wrapped
/// lines are transparent: those after its inner lines are left out; the
/// first line's stream line may start before the needle, so when it could
/// be a wrapped line its break is tried both ways.
fn as_matched(needle: Vec<u8>) -> Vec<Vec<u8>> {
    if !needle.contains(&b'\n') {
        return vec![needle];
    }
    let mut forms: Vec<Vec<u8>> = vec![Vec::new()];
    let mut line_start = 0;
    let mut first = true;
    for (i, &b) in needle.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let with_cr = &needle[line_start..i];
        let line = with_cr.strip_suffix(b"\r").unwrap_or(with_cr);
        let break_bytes = &needle[line_start + line.len()..=i];
        if first {
            let may_wrap = line.len() <= 76 && is_base64_text(line);
            forms[0].extend_from_slice(line);
            if may_wrap {
                forms.push(forms[0].clone());
            }
            forms[0].extend_from_slice(break_bytes);
            first = false;
        } else {
            for form in &mut forms {
                form.extend_from_slice(line);
                if !is_wrapped_line(line) {
                    form.extend_from_slice(break_bytes);
                }
            }
        }
        line_start = i + 1;
    }
    for form in &mut forms {
        form.extend_from_slice(&needle[line_start..]);
    }
    forms
}

fn compile(anchors: &[Pattern], needles: &[Pattern], labels: &[String]) -> Compiled {
    let mut all = Vec::with_capacity(anchors.len() + needles.len());
    all.extend_from_slice(needles);
    all.extend_from_slice(anchors);
    Compiled {
        automaton: Automaton::new(&all),
        labels: labels.to_vec(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Value(u32),
    Rule(usize),
    /// A line of an open PEM private-key block.
    Block,
}

/// A PEM private-key block whose END marker has not come yet: each of its
/// lines is held until it is known to belong to the block (then it is
/// masked) or not (then the block is over).
#[derive(Debug, Clone)]
struct PemBlock {
    /// Width of the first body line; a longer line is not of this block.
    width: Option<usize>,
    /// Armor headers and the blank line after them may still come.
    header_area: bool,
    /// A body line shorter than the width came: only the END marker (or
    /// an OpenPGP checksum) may follow.
    expect_end: bool,
    /// The block has been counted in the report.
    counted: bool,
    line: LineShape,
    /// Raw range of the current line's non-blank bytes.
    content: Option<(u64, u64)>,
}

impl PemBlock {
    fn new() -> PemBlock {
        PemBlock {
            width: None,
            header_area: true,
            expect_end: false,
            counted: false,
            line: LineShape::default(),
            content: None,
        }
    }

    /// Takes a visible byte of the current line; false once the line
    /// cannot belong to the block.
    fn push(&mut self, b: u8, p: u64) -> bool {
        if !matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
            let start = self.content.map_or(p, |c| c.0);
            self.content = Some((start, p + 1));
        }
        self.line.push(b)
    }
}

/// A raw byte range to replace; offsets are absolute in the stream.
#[derive(Debug, Clone)]
struct Mask {
    start: u64,
    end: u64,
    label: String,
    /// The replacement has been written (the mask is partly emitted).
    replaced: bool,
}

/// A rule keyword seen, whose rules are not decided yet.
#[derive(Debug, Clone, Copy)]
struct PendingAnchor {
    keyword_start: u64,
    keyword_end: u64,
    line_start: u64,
    /// Decided once this many visible bytes have been seen.
    decide_at_visible: u64,
    multi_line: bool,
    /// Bytes a match containing the keyword can contain.
    alphabet: ByteSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineMode {
    /// At the start of a line that may still become an `::add-mask::`
    /// command (its bytes so far are held).
    Prefix(CommandPrefix),
    Normal,
    /// An `::add-mask::` command whose value starts at this offset.
    Command(u64),
    /// An over-long command line: dropped until its newline.
    Discard,
}

/// The streaming redactor for one stream.
pub struct StreamRedactor {
    shared: Arc<Redaction>,
    compiled: Arc<Compiled>,
    generation: u64,
    /// Bytes from `base` on: some already written (context), the rest held.
    buf: Vec<u8>,
    base: u64,
    emitted: u64,
    state: u32,
    visible: u64,
    escape: Escape,
    escape_start: u64,
    /// Raw ranges of complete escape sequences, transparent to matching.
    skipped: std::collections::VecDeque<(u64, u64)>,
    /// Starts of the `skipped` ranges that are wrapped-line breaks: rules
    /// still see those.
    wrap_breaks: std::collections::VecDeque<u64>,
    line_start: u64,
    /// `visible` when the current line started.
    line_visible_start: u64,
    last_newline_end: u64,
    /// A `\r` that ends a wrapped base64 line if a `\n` follows: not yet
    /// seen by matching, and held.
    pending_cr: Option<u64>,
    line: LineMode,
    /// Where a legacy `##[add-mask` starts on the current line: held from
    /// there to the line's end.
    legacy: Option<u64>,
    pem: Option<PemBlock>,
    anchors: Vec<PendingAnchor>,
    next_decide: u64,
    masks: Vec<Mask>,
    /// Raw ranges never written (`::add-mask::` lines); end may be open.
    drops: Vec<(u64, u64)>,
    last_mask_end: u64,
    counts: BTreeMap<String, u64>,
    warnings: Vec<String>,
    hay: Vec<u8>,
    hay_map: Vec<u64>,
}

/// Debug output gives positions only: the held bytes may be the start of a
/// secret.
impl std::fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("base", &self.base)
            .field("emitted", &self.emitted)
            .field("held", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl StreamRedactor {
    pub fn new(shared: Arc<Redaction>) -> StreamRedactor {
        let (generation, compiled) = shared.current();
        StreamRedactor {
            shared,
            compiled,
            generation,
            buf: Vec::new(),
            base: 0,
            emitted: 0,
            state: Automaton::START,
            visible: 0,
            escape: Escape::Ground,
            escape_start: 0,
            skipped: Default::default(),
            wrap_breaks: Default::default(),
            line_start: 0,
            line_visible_start: 0,
            last_newline_end: 0,
            pending_cr: None,
            line: LineMode::Prefix(CommandPrefix::Lead),
            legacy: None,
            pem: None,
            anchors: Vec::new(),
            next_decide: u64::MAX,
            masks: Vec::new(),
            drops: Vec::new(),
            last_mask_end: 0,
            counts: BTreeMap::new(),
            warnings: Vec::new(),
            hay: Vec::new(),
            hay_map: Vec::new(),
        }
    }

    /// Counts of masked occurrences, keyed `rule:ID` or `value:NAME`.
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// Messages for the user (never containing a value), drained.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Whether bytes are held that a timed flush might release.
    pub fn has_pending(&self) -> bool {
        self.emitted < self.data_end()
    }

    fn data_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Feeds `input`; appends to `out` every completed line (and anything
    /// else that is safe when a partial line grows large).
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.refresh();
        let from = self.buf.len();
        self.buf.extend_from_slice(input);
        let mut compiled = Arc::clone(&self.compiled);
        let mut i = from;
        while i < self.buf.len() {
            if self.line == LineMode::Normal
                && self.escape == Escape::Ground
                && self.pending_cr.is_none()
                && self.pem.is_none()
                && !self.anchors.iter().any(|a| a.multi_line)
            {
                i = self.plain_run(&compiled.automaton, i);
                if i == self.buf.len() {
                    break;
                }
                // A whole escape sequence at once; one split across reads
                // goes through the byte-wise parser, which reads it alike.
                if self.buf[i] == 0x1b {
                    if let Some(n) = complete_sequence_len(&self.buf[i..]) {
                        let p = self.base + i as u64;
                        self.skipped.push_back((p, p + n as u64));
                        i += n;
                        continue;
                    }
                }
            }
            let b = self.buf[i];
            let p = self.base + i as u64;
            if self.byte(&compiled, b, p) {
                compiled = Arc::clone(&self.compiled);
            }
            i += 1;
        }
        let safe = self.safe_end();
        let line_target = safe.min(self.last_newline_end.max(self.emitted));
        let target = if safe - line_target > PARTIAL_LINE_LIMIT {
            safe
        } else {
            line_target
        };
        self.emit_until(target, out);
    }

    /// After input went quiet: writes everything that cannot become part
    /// of a match.
    pub fn flush_partial(&mut self, out: &mut Vec<u8>) {
        let safe = self.safe_end();
        self.emit_until(safe, out);
    }

    /// End of input: decides everything pending and writes the rest.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let end = self.data_end();
        if let Some(cr) = self.pending_cr.take() {
            let compiled = Arc::clone(&self.compiled);
            self.visible_byte(&compiled, b'\r', cr);
        }
        match self.line {
            LineMode::Prefix(_) => {
                self.line = LineMode::Normal;
                let compiled = Arc::clone(&self.compiled);
                self.replay_prefix(&compiled, end);
            }
            LineMode::Command(value_start) => self.end_command(value_start, end, end),
            LineMode::Discard => self.close_discard(end),
            _ => {}
        }
        if self.escape != Escape::Ground {
            self.skipped.push_back((self.escape_start, end));
            self.escape = Escape::Ground;
        }
        if self.pem.is_some() && end > self.line_start {
            self.pem_line_end(end);
        }
        if let Some(start) = self.legacy.take() {
            self.end_legacy(start, end);
        }
        let pending = std::mem::take(&mut self.anchors);
        for a in pending {
            self.decide(a, end);
        }
        self.next_decide = u64::MAX;
        self.emit_until(end, out);
    }

    /// Picks up values registered on other streams. Matching restarts from
    /// the root state: "from that point on".
    fn refresh(&mut self) {
        if self.shared.generation.load(Ordering::Acquire) != self.generation {
            let (generation, compiled) = self.shared.current();
            self.generation = generation;
            self.compiled = compiled;
            self.state = Automaton::START;
        }
    }

    /// The hot loop: steps the automaton over ordinary bytes and stops,
    /// without consuming it, at the first byte that needs more (an escape,
    /// a newline, a needle or anchor ending, a rule to decide).
    #[inline]
    fn plain_run(&mut self, ac: &Automaton, i: usize) -> usize {
        // The run stops one visible byte before the next decision is due.
        let room = self
            .next_decide
            .saturating_sub(1)
            .saturating_sub(self.visible);
        let end = self
            .buf
            .len()
            .min(i.saturating_add(usize::try_from(room).unwrap_or(usize::MAX)));
        let (state, n) = ac.run_plain(self.state, &self.buf[i..end]);
        self.state = state;
        self.visible += n as u64;
        i + n
    }

    /// Processes one raw byte; returns true when the automaton changed.
    #[inline]
    fn byte(&mut self, compiled: &Compiled, b: u8, p: u64) -> bool {
        if let Some(cr) = self.pending_cr.take() {
            if b == b'\n' {
                self.wrap_break(cr, p);
                return false;
            }
            self.visible_byte(compiled, b'\r', cr);
        }
        match self.line {
            LineMode::Normal => {}
            LineMode::Prefix(prefix) => {
                let too_long = p - self.line_start > MAX_COMMAND_LINE;
                match prefix.step(b) {
                    Step::Command => {
                        self.line = LineMode::Command(p + 1);
                        self.state = Automaton::START;
                        return false;
                    }
                    Step::More(next) if too_long && next.in_properties() => {
                        self.discard_command_line();
                        return false;
                    }
                    Step::More(next) if !too_long => {
                        self.line = LineMode::Prefix(next);
                        return false;
                    }
                    Step::More(_) | Step::NotCommand => {
                        self.line = LineMode::Normal;
                        self.replay_prefix(compiled, p);
                    }
                }
            }
            LineMode::Command(value_start) => {
                if b == b'\n' {
                    self.end_command(value_start, p, p + 1);
                    return true;
                }
                if p - self.line_start > MAX_COMMAND_LINE {
                    self.discard_command_line();
                }
                return false;
            }
            LineMode::Discard => {
                if b == b'\n' {
                    self.close_discard(p + 1);
                }
                return false;
            }
        }
        self.escape_or_visible(compiled, b, p);
        if let Some(start) = self.legacy {
            if b == b'\n' && self.line_start == p + 1 {
                self.legacy = None;
                return self.end_legacy(start, p);
            }
            if p - start > MAX_COMMAND_LINE {
                self.legacy = None;
                self.line = LineMode::Discard;
                self.drops.push((start, u64::MAX));
                self.warnings.push(format!(
                    "a ##[add-mask] command longer than {MAX_COMMAND_LINE} bytes was dropped and not registered"
                ));
            }
        }
        false
    }

    /// The line holding a legacy `##[add-mask]` from `start` ended at
    /// `end`: the command is dropped from the output (the text before it
    /// and the line break are kept) and its value registered. Returns
    /// whether the automaton changed.
    fn end_legacy(&mut self, start: u64, end: u64) -> bool {
        let text = &self.buf[(start - self.base) as usize..(end - self.base) as usize];
        let Some(values) = legacy_command_values(text) else {
            return false;
        };
        self.drops.push((start, end));
        let min = self.shared.config.min_length;
        if values[0].len() < min {
            self.warnings.push(format!(
                "a ##[add-mask] value shorter than {min} bytes was not registered"
            ));
            return false;
        }
        self.shared.register_all(ADD_MASK_NAME, &values);
        let (generation, compiled) = self.shared.current();
        self.generation = generation;
        self.compiled = compiled;
        self.state = Automaton::START;
        true
    }

    /// A line that began like `::add-mask::` but is not one: its bytes up
    /// to `end`, held so far, are ordinary text after all.
    fn replay_prefix(&mut self, compiled: &Compiled, end: u64) {
        for q in self.line_start..end {
            let b = self.buf[(q - self.base) as usize];
            self.escape_or_visible(compiled, b, q);
        }
    }

    /// An over-long `::add-mask::` line: dropped, unregistered, to its end.
    fn discard_command_line(&mut self) {
        self.line = LineMode::Discard;
        self.drops.push((self.line_start, u64::MAX));
        self.warnings.push(format!(
            "an ::add-mask:: line longer than {MAX_COMMAND_LINE} bytes was dropped and not registered"
        ));
    }

    #[inline]
    fn escape_or_visible(&mut self, compiled: &Compiled, b: u8, p: u64) {
        if self.escape != Escape::Ground && p - self.escape_start > MAX_ESCAPE_LEN as u64 {
            self.skipped.push_back((self.escape_start, p));
            self.escape = Escape::Ground;
        }
        let (next, outcome) = self.escape.next(b);
        self.escape = next;
        match outcome {
            Outcome::Visible => {
                if (b == b'\n' || b == b'\r') && self.ends_wrapped_line(p) {
                    if b == b'\r' {
                        self.pending_cr = Some(p);
                    } else {
                        self.wrap_break(p, p);
                    }
                } else {
                    self.visible_byte(compiled, b, p);
                }
            }
            Outcome::Inside => {
                if b == 0x1b && next == Escape::Esc {
                    self.escape_start = p;
                }
            }
            Outcome::Complete => self.skipped.push_back((self.escape_start, p + 1)),
            Outcome::Aborted => {
                // What came so far stays transparent; `b` is read afresh.
                self.skipped.push_back((self.escape_start, p));
                self.escape_or_visible(compiled, b, p);
            }
        }
    }

    #[inline]
    fn visible_byte(&mut self, compiled: &Compiled, b: u8, p: u64) {
        if b != b'\n' {
            if let Some(block) = self.pem.as_mut() {
                if !block.push(b, p) {
                    self.pem = None;
                }
            }
        }
        let ac = &compiled.automaton;
        self.state = ac.step(self.state, b);
        self.visible += 1;
        if let Some((len, label)) = ac.needle_match(self.state) {
            let start = self.raw_back(p + 1, len as u64);
            self.add_mask(start, p + 1, Label::Value(label));
        }
        if self.legacy.is_none() && ac.anchor(self.state).is_some_and(|a| a.command) {
            self.legacy = Some(self.raw_back(p + 1, LEGACY_PREFIX.len() as u64));
        }
        if let Some(a) = ac.anchor(self.state).filter(|a| a.reach > 0) {
            let keyword_start = self.raw_back(p + 1, u64::from(a.keyword_len));
            let decide_at_visible =
                self.visible - u64::from(a.keyword_len) + u64::from(a.reach) + 1;
            self.anchors.push(PendingAnchor {
                keyword_start,
                keyword_end: p + 1,
                line_start: self.line_start,
                decide_at_visible,
                multi_line: a.multi_line,
                alphabet: a.alphabet,
            });
            self.next_decide = self.next_decide.min(decide_at_visible);
        }
        if self.visible >= self.next_decide {
            self.decide_due(|a, visible| a.decide_at_visible <= visible, p + 1);
        }
        // A byte no match can contain ends every multi-line match in
        // progress: those rules are decided now (the byte included, for
        // `\b` and `$`), not after their whole reach.
        if self
            .anchors
            .iter()
            .any(|a| a.multi_line && !a.alphabet.contains(b))
        {
            self.decide_due(|a, _| a.multi_line && !a.alphabet.contains(b), p + 1);
        }
        if b == b'\n' {
            self.pem_line_end(p);
            if self.anchors.iter().any(|a| a.multi_line) {
                self.pem_markers(p);
            }
            // `pem_markers` may have made anchors single-line: decide them.
            if !self.anchors.is_empty() {
                self.decide_due(|a, _| !a.multi_line, p);
            }
            self.start_line(p + 1);
        }
    }

    fn start_line(&mut self, at: u64) {
        self.line_start = at;
        self.last_newline_end = at;
        self.line_visible_start = self.visible;
        self.line = LineMode::Prefix(CommandPrefix::Lead);
        if let Some(block) = self.pem.as_mut() {
            block.line = LineShape::default();
            block.content = None;
        }
    }

    /// The line ending at `end` inside an open PEM block: masked if it
    /// belongs to the block, else the block is over (and the line, held so
    /// far, is ordinary text).
    fn pem_line_end(&mut self, end: u64) {
        let Some(block) = self.pem.as_mut() else {
            return;
        };
        let belongs = match block.line.classify() {
            LineClass::Blank => std::mem::replace(&mut block.header_area, false),
            LineClass::Header => block.header_area,
            LineClass::Body(width) => {
                let fits = if block.expect_end {
                    block.line.is_checksum()
                } else {
                    block.width.is_none_or(|w| width <= w)
                };
                if fits {
                    block.header_area = false;
                    match block.width {
                        None => block.width = Some(width),
                        Some(w) if width < w => block.expect_end = true,
                        Some(_) => {}
                    }
                }
                fits
            }
            LineClass::End | LineClass::Other => false,
        };
        if !belongs {
            self.pem = None;
            return;
        }
        let content = block.content.map(|(s, e)| (s, e.min(end)));
        let first = !std::mem::replace(&mut block.counted, true);
        if let Some((s, e)) = content {
            if first {
                self.add_mask(s, e, Label::Block);
            } else {
                self.place_mask(s, e, pem::BLOCK_NAME.to_string());
            }
        }
    }

    /// At the end of a line with a pending multi-line rule: the rules
    /// anchored inside a private-key marker on it become rules of this line
    /// (decided now, on this line alone: the block's lines are the
    /// tracker's, masked as they come rather than held for an END marker
    /// that may never come), and a BEGIN marker that ends the line opens a
    /// block.
    fn pem_markers(&mut self, line_end: u64) {
        let start = self.line_start.max(self.base);
        self.fill_hay(start, line_end);
        let markers = pem::private_key_markers(&self.hay);
        if markers.is_empty() {
            return;
        }
        let ranges: Vec<(u64, u64)> = markers
            .iter()
            .map(|m| (self.hay_map[m.start], self.hay_map[m.end - 1] + 1))
            .collect();
        let opens = pem::opens_block(&self.hay, &markers);
        for a in &mut self.anchors {
            if ranges
                .iter()
                .any(|&(s, e)| s <= a.keyword_start && a.keyword_end <= e)
            {
                a.multi_line = false;
            }
        }
        if opens {
            self.pem = Some(PemBlock::new());
        }
    }

    /// Whether the line ending at raw offset `p` (at its `\r` or `\n`) is
    /// a line of wrapped base64: exactly a wrap width of visible base64
    /// characters (standard or URL-safe, `=` only at the end). Depends on
    /// the line's bytes alone, never on how they were read.
    fn ends_wrapped_line(&self, p: u64) -> bool {
        let width = self.visible - self.line_visible_start;
        if !WRAP_WIDTHS.contains(&width)
            || self.line != LineMode::Normal
            || p - self.line_start > WRAP_SCAN_LIMIT
            || self.line_start < self.base
        {
            return false;
        }
        let line_start = self.line_start;
        let mut skips = self
            .skipped
            .iter()
            .filter(|&&(_, e)| e > line_start)
            .peekable();
        let mut padding = false;
        let mut q = line_start;
        while q < p {
            if let Some(&&(s, e)) = skips.peek() {
                if s <= q {
                    q = q.max(e);
                    skips.next();
                    continue;
                }
            }
            match self.buf[(q - self.base) as usize] {
                b'=' => padding = true,
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'-' | b'_' if !padding => {
                }
                _ => return false,
            }
            q += 1;
        }
        true
    }

    /// The line break `[start, p]` of a wrapped base64 line: transparent
    /// to matching, like an escape sequence, and kept in the output.
    /// Rules see the break as it is: their anchors on the line are decided
    /// as at any line end.
    fn wrap_break(&mut self, start: u64, p: u64) {
        self.pem_line_end(start);
        self.skipped.push_back((start, p + 1));
        self.wrap_breaks.push_back(start);
        if !self.anchors.is_empty() {
            self.decide_due(|a, _| !a.multi_line, start);
        }
        self.start_line(p + 1);
    }

    fn decide_due(&mut self, due: impl Fn(&PendingAnchor, u64) -> bool, region_end: u64) {
        let visible = self.visible;
        let mut ready = Vec::new();
        self.anchors.retain(|a| {
            if due(a, visible) {
                ready.push(*a);
                false
            } else {
                true
            }
        });
        for a in ready {
            self.decide(a, region_end);
        }
        self.next_decide = self
            .anchors
            .iter()
            .map(|a| a.decide_at_visible)
            .min()
            .unwrap_or(u64::MAX);
    }

    /// Runs the rules on the region around an anchor whose matches are now
    /// complete, masking the secrets of matches that contain the keyword.
    fn decide(&mut self, anchor: PendingAnchor, region_end: u64) {
        let shared = Arc::clone(&self.shared);
        let Some(engine) = shared.engine.as_ref() else {
            return;
        };
        let mut start = anchor.keyword_start.saturating_sub(LOOKBEHIND);
        if !anchor.multi_line {
            start = start.max(anchor.line_start);
        }
        let start = start.max(self.base);
        let end = region_end.min(self.data_end());
        if end <= start {
            return;
        }
        self.fill_hay(start, end);
        let kw_start = self.hay_map.partition_point(|&r| r < anchor.keyword_start);
        let kw_end = self.hay_map.partition_point(|&r| r < anchor.keyword_end);
        // Inline allow markers exempt a line of a source file from a scan;
        // in a stream they would let any printed line exempt itself.
        for marker in INLINE_ALLOW_MARKERS {
            let mut from = 0;
            while let Some(at) = memchr::memmem::find(&self.hay[from..], marker) {
                self.hay[from + at] = 0;
                from += at + 1;
            }
        }
        let found = engine.scan(&self.hay, None);
        for m in found {
            if !(m.start < kw_end && kw_start < m.end) || m.secret_end <= m.secret_start {
                continue;
            }
            let s = self.hay_map[m.secret_start];
            let e = self.hay_map[m.secret_end - 1] + 1;
            self.add_mask(s, e, Label::Rule(m.rule));
        }
    }

    /// The text rules see of the raw range `[start, end)` into `hay`, with
    /// the raw offset of each of its bytes in `hay_map`: escape sequences
    /// and dropped lines left out, wrapped-line breaks kept.
    fn fill_hay(&mut self, start: u64, end: u64) {
        self.hay.clear();
        self.hay_map.clear();
        let mut excluded: Vec<(u64, u64)> = self
            .skipped
            .iter()
            .filter(|&&(s, e)| e > start && s < end && !self.wrap_breaks.contains(&s))
            .chain(self.drops.iter().filter(|&&(s, e)| e > start && s < end))
            .copied()
            .collect();
        excluded.sort_unstable();
        let mut ex = excluded.iter().peekable();
        let mut q = start;
        while q < end {
            while let Some(&&(_, e)) = ex.peek() {
                if e <= q {
                    ex.next();
                } else {
                    break;
                }
            }
            if let Some(&&(s, e)) = ex.peek() {
                if s <= q {
                    q = e;
                    continue;
                }
            }
            self.hay.push(self.buf[(q - self.base) as usize]);
            self.hay_map.push(q);
            q += 1;
        }
    }

    /// The raw offset where the `n` visible bytes ending at `end` begin.
    fn raw_back(&self, end: u64, n: u64) -> u64 {
        let mut cursor = end;
        let mut need = n;
        for &(s, e) in self.skipped.iter().rev() {
            if s >= cursor {
                continue;
            }
            let gap = cursor.saturating_sub(e);
            if gap >= need {
                return cursor - need;
            }
            need -= gap;
            cursor = s;
        }
        cursor.saturating_sub(need)
    }

    fn label_name(&self, label: Label) -> (String, String) {
        match label {
            Label::Value(i) => {
                let name = self
                    .compiled
                    .labels
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_default();
                (format!("value:{name}"), name)
            }
            Label::Rule(i) => {
                let id = self
                    .shared
                    .engine
                    .as_ref()
                    .and_then(|e| e.rules().rules.get(i))
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                (format!("rule:{id}"), id)
            }
            Label::Block => (
                format!("rule:{}", pem::BLOCK_NAME),
                pem::BLOCK_NAME.to_string(),
            ),
        }
    }

    fn add_mask(&mut self, start: u64, end: u64, label: Label) {
        let (key, name) = self.label_name(label);
        *self.counts.entry(key).or_insert(0) += 1;
        self.place_mask(start, end, name);
    }

    /// Masks `[start, end)` without counting it (a further line of a block
    /// already counted).
    fn place_mask(&mut self, start: u64, end: u64, name: String) {
        let clipped = start.max(self.emitted);
        if clipped >= end {
            return;
        }
        let mut merged = Mask {
            start: clipped,
            end,
            label: name,
            replaced: start < self.emitted && self.continues_last_mask(),
        };
        let mut i = 0;
        while i < self.masks.len() {
            let m = &self.masks[i];
            if merged.start < m.end && m.start < merged.end {
                if m.start <= merged.start {
                    merged.label = m.label.clone();
                }
                merged.start = merged.start.min(m.start);
                merged.end = merged.end.max(m.end);
                merged.replaced |= m.replaced;
                self.masks.remove(i);
            } else {
                i += 1;
            }
        }
        let at = self.masks.partition_point(|m| m.start < merged.start);
        self.masks.insert(at, merged);
    }

    /// Everything before this offset cannot become part of a match.
    fn safe_end(&self) -> u64 {
        let end = self.data_end();
        // Bytes matching has not seen yet, and held line starts.
        let mut unseen = end;
        let visible_end = if self.escape != Escape::Ground {
            unseen = unseen.min(self.escape_start);
            self.escape_start
        } else if let Some(cr) = self.pending_cr {
            unseen = unseen.min(cr);
            cr
        } else {
            end
        };
        match self.line {
            LineMode::Prefix(_) | LineMode::Command(_) => unseen = unseen.min(self.line_start),
            _ => {}
        }
        if self.pem.is_some() {
            unseen = unseen.min(self.line_start);
        }
        if let Some(start) = self.legacy {
            unseen = unseen.min(start);
        }
        // Bytes that may still become part of a match.
        let mut pending = unseen;
        let depth = self.compiled.automaton.depth(self.state) as u64;
        if depth > 0 {
            pending = pending.min(self.raw_back(visible_end, depth));
        }
        for a in &self.anchors {
            pending = pending.min(a.keyword_start);
        }
        let mut safe = pending.max(self.emitted);
        // Pending bytes inside a decided mask are written as its
        // replacement whatever comes, and a line break after them is
        // transparent: they can go out (a later match overlapping them
        // continues the mask, see `add_mask`), so a masked body line of a
        // PEM block is not held for the next line.
        if safe < unseen && self.masks.iter().any(|m| m.start <= safe && safe < m.end) {
            loop {
                if let Some(m) = self.masks.iter().find(|m| m.start <= safe && safe < m.end) {
                    safe = m.end;
                } else if let Some(&(_, e)) =
                    self.skipped.iter().find(|&&(s, e)| s <= safe && safe < e)
                {
                    safe = e;
                } else {
                    break;
                }
            }
            safe = safe.min(unseen);
        }
        safe
    }

    /// Whether nothing but transparent bytes lie between the end of the
    /// last mask written and what has been written: a mask starting before
    /// that point continues it rather than starting a new replacement.
    fn continues_last_mask(&self) -> bool {
        let mut cursor = self.last_mask_end;
        if cursor > self.emitted {
            return false;
        }
        for &(s, e) in &self.skipped {
            if cursor >= self.emitted {
                break;
            }
            if e <= cursor {
                continue;
            }
            if s > cursor {
                break;
            }
            cursor = e;
        }
        cursor >= self.emitted
    }

    fn end_command(&mut self, value_start: u64, value_end: u64, line_end: u64) {
        let from = (value_start - self.base) as usize;
        let to = (value_end - self.base) as usize;
        let mut raw = &self.buf[from.min(to)..to];
        if let Some(stripped) = raw.strip_suffix(b"\r") {
            raw = stripped;
        }
        let values = command_values(raw);
        self.drops.push((self.line_start, line_end));
        self.start_line(line_end);
        self.state = Automaton::START;
        let min = self.shared.config.min_length;
        if values[0].len() < min {
            self.warnings.push(format!(
                "an ::add-mask:: value shorter than {min} bytes was not registered"
            ));
            return;
        }
        self.shared.register_all(ADD_MASK_NAME, &values);
        let (generation, compiled) = self.shared.current();
        self.generation = generation;
        self.compiled = compiled;
        self.state = Automaton::START;
    }

    fn close_discard(&mut self, line_end: u64) {
        if let Some(d) = self.drops.iter_mut().find(|d| d.1 == u64::MAX) {
            d.1 = line_end;
        }
        self.start_line(line_end);
    }

    fn replacement_for(&self, name: &str) -> String {
        let t = &self.shared.config.replacement;
        if t.contains('{') {
            t.replace("{rule}", name).replace("{name}", name)
        } else {
            t.clone()
        }
    }

    /// Writes `[emitted, target)` with masks applied and drops left out.
    fn emit_until(&mut self, target: u64, out: &mut Vec<u8>) {
        let mut cur = self.emitted;
        while cur < target {
            if let Some(&(_, e)) = self.drops.iter().find(|&&(s, e)| s <= cur && cur < e) {
                cur = e.min(target);
                continue;
            }
            let next_drop = self
                .drops
                .iter()
                .filter(|&&(s, _)| s > cur)
                .map(|&(s, _)| s)
                .min()
                .unwrap_or(u64::MAX);
            if let Some(mi) = self
                .masks
                .iter()
                .position(|m| m.start <= cur && cur < m.end)
            {
                if !self.masks[mi].replaced {
                    let r = self.replacement_for(&self.masks[mi].label);
                    out.extend_from_slice(r.as_bytes());
                    self.masks[mi].replaced = true;
                }
                let mask_end = self.masks[mi].end;
                let stop = mask_end.min(target).min(next_drop);
                // Escape sequences inside a secret are kept: colours stay right.
                for &(s, e) in &self.skipped {
                    if e > cur && s < stop {
                        let a = (s.max(cur) - self.base) as usize;
                        let b = (e.min(stop) - self.base) as usize;
                        out.extend_from_slice(&self.buf[a..b]);
                    }
                }
                if stop == mask_end {
                    self.last_mask_end = mask_end;
                }
                cur = stop;
                continue;
            }
            let next_mask = self
                .masks
                .iter()
                .filter(|m| m.start > cur)
                .map(|m| m.start)
                .min()
                .unwrap_or(u64::MAX);
            let stop = target.min(next_mask).min(next_drop);
            out.extend_from_slice(
                &self.buf[(cur - self.base) as usize..(stop - self.base) as usize],
            );
            cur = stop;
        }
        self.emitted = self.emitted.max(cur);
        let emitted = self.emitted;
        self.masks.retain(|m| m.end > emitted);
        self.drops.retain(|&(_, e)| e > emitted);
        self.compact();
    }

    /// Forgets bytes well before the held region.
    fn compact(&mut self) {
        let mut keep_from = self.emitted.saturating_sub(LOOKBEHIND);
        if self.data_end() - self.line_start <= WRAP_SCAN_LIMIT {
            keep_from = keep_from.min(self.line_start);
        }
        for a in &self.anchors {
            keep_from = keep_from.min(a.keyword_start.saturating_sub(LOOKBEHIND));
        }
        let drop_n = keep_from.saturating_sub(self.base);
        if drop_n > 4096 && drop_n * 2 > self.buf.len() as u64 {
            self.buf.drain(..drop_n as usize);
            self.base += drop_n;
            let base = self.base;
            while self.skipped.front().is_some_and(|&(_, e)| e <= base) {
                self.skipped.pop_front();
            }
            while self.wrap_breaks.front().is_some_and(|&s| s < base) {
                self.wrap_breaks.pop_front();
            }
        }
    }
}

/// Redacts a whole input at once (the reference the streaming result must
/// equal, whatever the chunking).
pub fn redact_all(shared: &Arc<Redaction>, input: &[u8]) -> Vec<u8> {
    let mut r = StreamRedactor::new(Arc::clone(shared));
    let mut out = Vec::new();
    r.push(input, &mut out);
    r.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::checksum::make_github_style_token;
    use crate::rules::{load_rule_set, LoadOptions};

    fn shared(values: &[&str]) -> Arc<Redaction> {
        let rules = load_rule_set(&LoadOptions::default()).unwrap();
        let known: Vec<KnownValue> = values
            .iter()
            .enumerate()
            .map(|(i, v)| KnownValue {
                name: format!("V{i}"),
                value: v.as_bytes().to_vec(),
            })
            .collect();
        Arc::new(Redaction::new(&rules, &known, RedactConfig::default()).unwrap())
    }

    fn in_two(shared: &Arc<Redaction>, input: &[u8], cut: usize) -> Vec<u8> {
        let mut r = StreamRedactor::new(Arc::clone(shared));
        let mut out = Vec::new();
        r.push(&input[..cut], &mut out);
        r.flush_partial(&mut out);
        r.push(&input[cut..], &mut out);
        r.flush_partial(&mut out);
        r.finish(&mut out);
        out
    }

    #[test]
    fn split_at_every_byte_with_a_flush_between() {
        let token = make_github_style_token("ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123");
        let s = shared(&["p4ssp4ssX", "multi\nline-value"]);
        let input = format!("a p4ssp4ssp4ssX b {token} c multi\nline-value d");
        let expected = b"a p4ss*** b *** c *** d".to_vec();
        assert_eq!(redact_all(&s, input.as_bytes()), expected);
        for cut in 0..=input.len() {
            assert_eq!(in_two(&s, input.as_bytes(), cut), expected, "cut at {cut}");
        }
    }

    #[test]
    fn safe_bytes_of_a_partial_line_go_out_on_flush() {
        let s = shared(&["secret-value"]);
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        r.push(b"done\nPassword: secret-", &mut out);
        assert_eq!(out, b"done\n");
        r.flush_partial(&mut out);
        assert_eq!(out, b"done\nPassword: ");
        r.push(b"value ok", &mut out);
        r.finish(&mut out);
        assert_eq!(out, b"done\nPassword: *** ok");
    }

    #[test]
    fn memory_stays_bounded_on_a_line_without_newline() {
        let s = shared(&["secret-value"]);
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        let chunk = vec![b'a'; 64 * 1024];
        let mut written = 0;
        for _ in 0..200 {
            r.push(&chunk, &mut out);
            written += out.len();
            out.clear();
            assert!(r.buf.len() < 256 * 1024, "held {} bytes", r.buf.len());
        }
        r.finish(&mut out);
        assert_eq!(written + out.len(), 200 * chunk.len());
    }

    #[test]
    fn memory_stays_bounded_on_an_endless_line_after_a_key_header() {
        let s = shared(&[]);
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        r.push(b"-----BEGIN PRIVATE KEY-----\n", &mut out);
        let chunk = vec![b'A'; 16 * 1024];
        let mut written = out.len();
        out.clear();
        for _ in 0..64 {
            r.push(&chunk, &mut out);
            written += out.len();
            out.clear();
            assert!(r.buf.len() < 256 * 1024, "held {} bytes", r.buf.len());
        }
        r.finish(&mut out);
        // Longer than any key line: the block is over and the text kept.
        assert_eq!(written + out.len(), 28 + 64 * chunk.len());
    }

    #[test]
    fn over_long_add_mask_line_is_dropped() {
        let s = shared(&[]);
        let mut input = b"::add-mask::".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100 * 1024));
        input.extend_from_slice(b"\nnext\n");
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        for c in input.chunks(4096) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        assert_eq!(out, b"next\n");
        assert_eq!(r.take_warnings().len(), 1);
    }

    #[test]
    fn lines_that_only_start_like_add_mask_are_kept() {
        let s = shared(&[]);
        let input = b"::add-ma\n::warning::x\n:: add-mask::y\n::";
        assert_eq!(redact_all(&s, input), input);
    }

    #[test]
    fn inline_allow_markers_do_not_exempt_a_stream() {
        let token = make_github_style_token("ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123");
        let s = shared(&[]);
        let input = format!("leakscrub:allow gitleaks:allow t={token}\n");
        assert_eq!(
            redact_all(&s, input.as_bytes()),
            b"leakscrub:allow gitleaks:allow t=***\n"
        );
    }

    #[test]
    fn a_pem_key_registered_whole_is_masked_through_its_wrapped_lines() {
        let body: String = (0..150u32)
            .map(|i| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                        [(i * 7 % 64) as usize],
                )
            })
            .collect();
        let lines: Vec<&str> = vec![&body[..64], &body[64..128], &body[128..]];
        let key = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            lines.join("\n")
        );
        let s = shared(&[&key]);
        let input = format!("x\n{key}\ny\n");
        assert_eq!(redact_all(&s, input.as_bytes()), b"x\n***\n\n\ny\n");
        let crlf = input.replace('\n', "\r\n");
        let out = redact_all(&s, crlf.as_bytes());
        assert!(!String::from_utf8_lossy(&out).contains(&body[10..50]));
        assert!(out.starts_with(b"x\r\n***") && out.ends_with(b"\r\ny\r\n"));
    }

    #[test]
    fn as_matched_leaves_out_breaks_after_wrapped_inner_lines() {
        let full = "A".repeat(64);
        let needle = format!("he:d\n{full}\ntail").into_bytes();
        assert_eq!(
            as_matched(needle),
            vec![format!("he:d\n{full}tail").into_bytes()]
        );
        let needle = format!("abc\n{full}\nx").into_bytes();
        assert_eq!(
            as_matched(needle),
            vec![
                format!("abc\n{full}x").into_bytes(),
                format!("abc{full}x").into_bytes()
            ]
        );
        assert_eq!(as_matched(b"plain".to_vec()), vec![b"plain".to_vec()]);
    }

    #[test]
    fn a_byte_no_match_can_hold_releases_a_multi_line_rule() {
        let s = shared(&[]);
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        // The service-account rules span lines up to their reach; the `}`
        // closing the object rules them out, so the lines go out now.
        r.push(
            b"{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-ci\"\n}\nnext step\n",
            &mut out,
        );
        assert!(
            out.ends_with(b"}\nnext step\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        // Without that byte the rule holds its lines (they could still be
        // part of a key).
        let mut r = StreamRedactor::new(shared(&[]));
        let mut out = Vec::new();
        r.push(b"{\"type\": \"service_account\",\nnext step\n", &mut out);
        assert_eq!(out, b"{\"type\": \"");
        r.finish(&mut out);
        assert_eq!(out, b"{\"type\": \"service_account\",\nnext step\n");
    }

    #[test]
    fn an_open_pem_block_holds_only_its_current_line() {
        let s = shared(&[]);
        let mut r = StreamRedactor::new(s);
        let mut out = Vec::new();
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDX8kq3Vh7nT2bL";
        r.push(
            format!("-----BEGIN PRIVATE KEY-----\n{body}\n{}", &body[..20]).as_bytes(),
            &mut out,
        );
        assert_eq!(out, b"-----BEGIN PRIVATE KEY-----\n***\n");
        r.flush_partial(&mut out);
        assert_eq!(out, b"-----BEGIN PRIVATE KEY-----\n***\n");
        r.push(b" not base64 after all\n", &mut out);
        let expected = format!(
            "-----BEGIN PRIVATE KEY-----\n***\n{} not base64 after all\n",
            &body[..20]
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert_eq!(r.counts().get("rule:private-key-pem"), Some(&1));
    }

    #[test]
    fn a_key_cut_mid_line_at_the_end_of_input_is_masked() {
        let s = shared(&[]);
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDX8kq3Vh7nT2bL";
        let input = format!("-----BEGIN EC PRIVATE KEY-----\n{body}\n{}", &body[..30]);
        for cut in 0..=input.len() {
            assert_eq!(
                in_two(&s, input.as_bytes(), cut),
                b"-----BEGIN EC PRIVATE KEY-----\n***\n***",
                "cut {cut}"
            );
        }
    }

    #[test]
    fn a_value_across_masked_key_lines_continues_the_mask_in_any_split() {
        // The break after a full-width body line is transparent, so a
        // known value can span two masked lines; the first line goes out
        // at its break while the value is still pending, and the value's
        // match must continue that mask rather than add a replacement.
        let line1 = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDX8kq3Vh7nT2bL";
        let line2 = "Q2x9Yq7R5mW8cV1tZ3pN6aK0sD4fG7hJ2lB9eU5rT8yI1oP3wE6qA0zX4cV7bN2m";
        let value = format!("{}{}", &line1[54..], &line2[..12]);
        let s = shared(&[&value]);
        let input = format!(
            "-----BEGIN PRIVATE KEY-----\n{line1}\n{line2}\n-----END PRIVATE KEY-----\nok\n"
        );
        let one_shot = redact_all(&s, input.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&one_shot),
            "-----BEGIN PRIVATE KEY-----\n***\n\n-----END PRIVATE KEY-----\nok\n"
        );
        for cut in 0..=input.len() {
            assert_eq!(in_two(&s, input.as_bytes(), cut), one_shot, "cut {cut}");
        }
        let mut r = StreamRedactor::new(Arc::clone(&s));
        let mut out = Vec::new();
        for b in input.as_bytes() {
            r.push(std::slice::from_ref(b), &mut out);
        }
        r.finish(&mut out);
        assert_eq!(out, one_shot);
    }

    #[test]
    fn escape_split_across_reads_stays_transparent() {
        let s = shared(&["SECRETVALUE"]);
        let input = b"x SEC\x1b[01;31mRETVALUE y\n";
        for cut in 0..=input.len() {
            assert_eq!(in_two(&s, input, cut), b"x ***\x1b[01;31m y\n", "cut {cut}");
        }
    }
}

#[cfg(test)]
mod escape_value_tests {
    use super::*;

    #[test]
    fn a_value_holding_an_escape_sequence_is_still_masked() {
        let known = [KnownValue {
            name: "V".into(),
            value: b"colour\x1b[1mful".to_vec(),
        }];
        let s =
            Arc::new(Redaction::new(&RuleSet::default(), &known, RedactConfig::default()).unwrap());
        assert_eq!(
            redact_all(&s, b"a colour\x1b[1mful b\n"),
            b"a ***\x1b[1m b\n"
        );
        assert_eq!(redact_all(&s, b"a colourful b\n"), b"a *** b\n");
    }
}
