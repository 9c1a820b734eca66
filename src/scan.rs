//! The scan pipeline's middle: blobs from a source go through the engine,
//! raw matches become findings with positions and provenance, and the run
//! keeps its counts for the summary and the progress bar.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::blob::decode::{decode_spans, DecodeLimits};
use crate::blob::id::BlobId;
use crate::engine::{Engine, RawMatch};
use crate::finding::{fingerprint, mask, printable, sort_and_dedup, Finding};
use crate::seen::SeenBlobs;
use crate::sources::{BlobSink, Chunk, Provenance, SkipReason};
use crate::stop::StopSwitch;
use crate::summary::{human_bytes, ScanSummary};

/// Collects findings and counts from every source thread.
pub struct Scanner {
    engine: Arc<Engine>,
    findings: Mutex<Vec<Finding>>,
    files: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    skipped: Mutex<BTreeMap<SkipReason, u64>>,
    progress: Option<ProgressBar>,
    last_progress_ms: AtomicU64,
    started: Instant,
    /// How many encodings deep decoded text is scanned; 0 turns decoding off.
    max_decode_depth: usize,
    decode_limits: DecodeLimits,
    stop: StopSwitch,
    seen: SeenBlobs,
}

/// How many encodings deep decoded text is scanned by default: base64 of a
/// JSON document holding an escaped string is two.
pub const DEFAULT_DECODE_DEPTH: usize = 2;

/// How often the progress bar's numbers change.
const PROGRESS_INTERVAL_MS: u64 = 80;

impl Scanner {
    /// Error lines go to stderr as they happen, even when the run is
    /// quiet: they are the reason a scan fails.
    pub fn new(engine: Arc<Engine>, show_progress: bool) -> Scanner {
        let progress = show_progress.then(|| {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        Scanner {
            engine,
            findings: Mutex::new(Vec::new()),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: Mutex::new(BTreeMap::new()),
            progress,
            last_progress_ms: AtomicU64::new(0),
            started: Instant::now(),
            max_decode_depth: DEFAULT_DECODE_DEPTH,
            decode_limits: DecodeLimits::default(),
            stop: StopSwitch::never(),
            seen: SeenBlobs::default(),
        }
    }

    /// Stops the sources when `stop` trips.
    pub fn with_stop(mut self, stop: StopSwitch) -> Scanner {
        self.stop = stop;
        self
    }

    /// Scans decoded text down to `depth` encodings (0: not at all).
    pub fn with_decode_depth(mut self, depth: usize) -> Scanner {
        self.max_decode_depth = depth;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn update_progress(&self) {
        if let Some(pb) = &self.progress {
            // At most one update per interval, by whichever thread wins the
            // race: formatting and the bar's lock per file would cost more
            // than scanning small files.
            let now = self.started.elapsed().as_millis() as u64;
            let last = self.last_progress_ms.load(Ordering::Relaxed);
            if now < last + PROGRESS_INTERVAL_MS
                || self
                    .last_progress_ms
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                return;
            }
            let bytes = self.bytes.load(Ordering::Relaxed);
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            let findings = self.findings.lock().map(|f| f.len()).unwrap_or(0);
            pb.set_message(format!(
                "{} files, {}, {}/s, {} findings",
                self.files.load(Ordering::Relaxed),
                human_bytes(bytes),
                human_bytes((bytes as f64 / secs) as u64),
                findings
            ));
        }
    }

    /// Ends the run: clears the progress bar, returns findings (in report
    /// order, each once) and the summary.
    pub fn finish(self) -> (Vec<Finding>, ScanSummary) {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        let mut findings = self
            .findings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        self.seen.add_copies(&mut findings);
        sort_and_dedup(&mut findings);
        let summary = ScanSummary {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            errors: self.errors.into_inner(),
            skipped: self.skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
            elapsed: self.started.elapsed(),
            stopped_early: self.stop.reason(),
        };
        (findings, summary)
    }

    /// Keeps newly made findings and counts them towards a stop.
    fn record(&self, found: impl IntoIterator<Item = Finding>) {
        let found: Vec<Finding> = found.into_iter().collect();
        if found.is_empty() {
            return;
        }
        self.stop.found(&found);
        if let Ok(mut all) = self.findings.lock() {
            all.extend(found);
        }
    }

    fn report_line(&self, line: &str) {
        // Error lines name inputs, and an archive member's name is whatever
        // the archive says: no escape sequence of it reaches the terminal.
        let line = printable(line);
        match &self.progress {
            Some(pb) => pb.suspend(|| eprintln!("leakscrub: {line}")),
            None => eprintln!("leakscrub: {line}"),
        }
    }
}

impl BlobSink for Scanner {
    fn chunk_overlap(&self) -> usize {
        self.engine.chunk_overlap()
    }

    fn chunk(&self, prov: &Provenance, chunk: Chunk<'_>) {
        self.scan_chunk(prov, &chunk, None);
    }

    fn chunk_mapped(
        &self,
        prov: &Provenance,
        chunk: Chunk<'_>,
        position: &dyn Fn(usize) -> (u64, u64),
    ) {
        self.scan_chunk(prov, &chunk, Some(position));
    }

    fn finished(&self, prov: &Provenance, bytes: u64) {
        self.report_path_only(prov);
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.update_progress();
    }

    fn skipped(&self, input: &str, reason: SkipReason) {
        // A file that is not read is still there: a rule that flags files
        // by name (`*.p12` keystores are binary) must see it. What ignore
        // files hid was never part of the scan.
        if !matches!(
            reason,
            SkipReason::Symlink | SkipReason::Ignored | SkipReason::IgnoredFolder
        ) {
            self.report_path_only(&Provenance::path(input));
        }
        self.skipped_count(reason, 1);
    }

    fn skipped_count(&self, reason: SkipReason, count: u64) {
        if count == 0 {
            return;
        }
        if let Ok(mut s) = self.skipped.lock() {
            *s.entry(reason).or_insert(0) += count;
        }
    }

    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.report_line(&message);
        self.stop.error();
    }

    fn should_stop(&self) -> bool {
        self.stop.is_tripped()
    }

    fn claim(&self, prov: &Provenance, id: BlobId) -> bool {
        self.seen.claim(id, prov, self.engine.rules())
    }
}

impl Scanner {
    /// Findings of the rules that flag a file by its path alone. Like
    /// gitleaks, they have no secret and no position (line 0).
    fn report_path_only(&self, prov: &Provenance) {
        let rules = self.engine.path_only_matches(&prov.path);
        if rules.is_empty() {
            return;
        }
        let detected = format!("file detected: {}", prov.path).into_bytes();
        let found = rules.into_iter().map(|r| {
            let rule = &self.engine.rules().rules[r];
            Finding {
                rule: rule.id.clone(),
                description: rule.description.clone(),
                path: prov.path.clone(),
                line: 0,
                end_line: 0,
                column: 0,
                end_column: 0,
                fingerprint: fingerprint(&rule.id, prov.fingerprint_path(), b""),
                entropy: 0.0,
                confidence: rule.confidence,
                secret: Vec::new(),
                commit: prov.commit.clone(),
                author: prov.author.clone(),
                email: prov.email.clone(),
                message: prov.message.clone(),
                date: prov.date.clone(),
                layer: prov.layer.clone(),
                layer_index: prov.layer_index,
                created_by: prov.created_by.clone(),
                deleted: prov.deleted,
                line_text: detected.clone(),
                line_masked: detected.clone(),
                provenance: prov.origins(),
            }
        });
        self.record(found);
    }

    /// Matches one chunk, then the text decoded from its encoded runs.
    /// `mapped` gives (line, column) of a byte offset when the chunk's
    /// bytes were rewritten from the input (a normalised log).
    fn scan_chunk(
        &self,
        prov: &Provenance,
        chunk: &Chunk<'_>,
        mapped: Option<&dyn Fn(usize) -> (u64, u64)>,
    ) {
        let placement = match mapped {
            Some(position) => Placement::Mapped(position),
            None => Placement::Chunk(chunk),
        };
        let secrets = self.match_bytes(prov, chunk.data, &chunk.keep, &placement, &[]);
        if self.max_decode_depth > 0 {
            let position = |offset: usize| match mapped {
                Some(position) => position(offset),
                None => chunk.position(offset),
            };
            self.scan_decodings(prov, chunk.data, &chunk.keep, &position, &secrets, 1);
        }
    }

    /// Scans the text decoded from each encoded run of `data` that starts
    /// in `keep`, and what that text decodes to in turn, down to the
    /// decode depth. A finding in decoded text is placed at the encoded
    /// run; a secret already found in the text around it is not reported
    /// again.
    fn scan_decodings(
        &self,
        prov: &Provenance,
        data: &[u8],
        keep: &Range<usize>,
        position: &dyn Fn(usize) -> (u64, u64),
        found_around: &[Vec<u8>],
        depth: usize,
    ) {
        for span in decode_spans(data, &self.decode_limits) {
            if !keep.contains(&span.span.start) {
                continue;
            }
            let child = prov.decoded(span.encoding.as_str());
            let whole = 0..span.bytes.len();
            // Positions are counted only for a run that holds a finding:
            // counting lines for every run of a busy file is quadratic.
            let placement = Placement::Encoded {
                span: span.span.clone(),
                position,
            };
            let mut found = self.match_bytes(&child, &span.bytes, &whole, &placement, found_around);
            if depth < self.max_decode_depth {
                found.extend_from_slice(found_around);
                let outer = span.span.start;
                self.scan_decodings(
                    &child,
                    &span.bytes,
                    &whole,
                    &|_| position(outer),
                    &found,
                    depth + 1,
                );
            }
        }
    }

    /// Matches `data`, keeping matches that start in `keep`, and records
    /// them as findings placed by `placement`. Secrets equal to one of
    /// `already` are not recorded again. Returns every secret matched.
    fn match_bytes(
        &self,
        prov: &Provenance,
        data: &[u8],
        keep: &Range<usize>,
        placement: &Placement<'_, '_>,
        already: &[Vec<u8>],
    ) -> Vec<Vec<u8>> {
        let mut raw = Vec::new();
        // Every match of the chunk, also those a neighbouring chunk reports:
        // their secrets are masked in the excerpts of this chunk's findings.
        self.engine
            .scan_into(data, Some(prov.innermost_path()), 0..data.len(), &mut raw);
        if raw.is_empty() {
            return Vec::new();
        }
        let secrets = merged_secret_spans(&raw);
        raw.retain(|m| keep.contains(&m.start));
        if raw.is_empty() {
            return Vec::new();
        }
        let rules = &self.engine.rules().rules;
        let mut found = Vec::with_capacity(raw.len());
        let mut matched = Vec::with_capacity(raw.len());
        // In offset order, each position of an unmapped chunk is counted
        // from the previous one: counting from the chunk's start for every
        // finding is quadratic in a busy chunk.
        raw.sort_by_key(|m| m.secret_start);
        let mut last = match placement {
            Placement::Chunk(chunk) => (0, chunk.position(0)),
            _ => (0, (0, 0)),
        };
        for m in raw {
            let rule = &rules[m.rule];
            let secret = data[m.secret_start..m.secret_end].to_vec();
            if already.contains(&secret) {
                continue;
            }
            let (line, column, end_line, end_column) = match placement {
                Placement::Mapped(position) => {
                    let (line, column) = position(m.secret_start);
                    let (end_line, end_column) = if m.secret_end > m.secret_start {
                        let (l, c) = position(m.secret_end - 1);
                        (l, c + 1)
                    } else {
                        position(m.secret_end)
                    };
                    (line, column, end_line, end_column)
                }
                Placement::Chunk(chunk) => {
                    let (line, column) = chunk.position_from(last.0, last.1, m.secret_start);
                    last = (m.secret_start, (line, column));
                    let (end_line, end_column) =
                        chunk.position_from(m.secret_start, (line, column), m.secret_end);
                    (line, column, end_line, end_column)
                }
                Placement::Encoded { span, position } => {
                    let (line, column) = position(span.start);
                    let (end_line, end_column) = if span.end > span.start {
                        let (l, c) = position(span.end - 1);
                        (l, c + 1)
                    } else {
                        (line, column)
                    };
                    (line, column, end_line, end_column)
                }
            };
            let (line_text, line_masked) = excerpt(data, &m, &secrets);
            matched.push(secret.clone());
            found.push(Finding {
                rule: rule.id.clone(),
                description: rule.description.clone(),
                path: prov.path.clone(),
                line,
                end_line,
                column,
                end_column,
                fingerprint: fingerprint(&rule.id, prov.fingerprint_path(), &secret),
                entropy: m.entropy,
                confidence: rule.confidence,
                secret,
                commit: prov.commit.clone(),
                author: prov.author.clone(),
                email: prov.email.clone(),
                message: prov.message.clone(),
                date: prov.date.clone(),
                layer: prov.layer.clone(),
                layer_index: prov.layer_index,
                created_by: prov.created_by.clone(),
                deleted: prov.deleted,
                line_text,
                line_masked,
                provenance: prov.origins(),
            });
        }
        self.record(found);
        matched
    }
}

/// How a match's offset becomes a (line, column) of the input.
enum Placement<'c, 'd> {
    /// Counted in the chunk itself.
    Chunk(&'c Chunk<'d>),
    /// The chunk's bytes were rewritten from the input: a map back.
    Mapped(&'c dyn Fn(usize) -> (u64, u64)),
    /// Decoded text: every match is placed at the encoded run it came
    /// from, `span` of the parent that `position` places.
    Encoded {
        span: Range<usize>,
        position: &'c dyn Fn(usize) -> (u64, u64),
    },
}

/// The secrets of all matches, in order, overlapping ones merged.
fn merged_secret_spans(raw: &[RawMatch]) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = raw.iter().map(|m| m.secret_start..m.secret_end).collect();
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start < last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// The finding's own line(s) — those its secret spans, never a line a
/// delimiter of the match reached — clipped to a margin around the match
/// (a minified file's one line can be megabytes long). Returned raw, and
/// masked: every secret of `secrets` in it (any rule's, reported or not)
/// and any other occurrence of those secrets' text.
fn excerpt(hay: &[u8], m: &RawMatch, secrets: &[Range<usize>]) -> (Vec<u8>, Vec<u8>) {
    const MARGIN: usize = 160;
    let lines = secret_lines(hay, m.secret_start..m.secret_end);
    let core = m.start.max(lines.start)..m.end.min(lines.end).max(m.secret_end);
    let mut from = lines.start.max(core.start.saturating_sub(MARGIN));
    let mut to = lines.end.min(core.end.saturating_add(MARGIN));
    // A clip never cuts into a secret: half a secret would show unmasked.
    let first = secrets.partition_point(|s| s.end <= from);
    let touching = |from: usize, to: usize| {
        secrets[first..]
            .iter()
            .take_while(move |s| s.start < to)
            .filter(move |s| s.end > from)
    };
    for s in touching(from, to).collect::<Vec<_>>() {
        from = from.min(s.start.max(lines.start));
        to = to.max(s.end.min(lines.end));
    }
    let raw = hay[from..to].to_vec();
    let mut masked = Vec::with_capacity(raw.len());
    let mut masks: Vec<(&[u8], String)> = Vec::new();
    let mut pos = from;
    for s in touching(from, to) {
        let start = s.start.max(from);
        masked.extend_from_slice(&hay[pos..start]);
        let mask = mask(&hay[s.clone()]);
        masked.extend_from_slice(mask.as_bytes());
        masks.push((&hay[s.clone()], mask));
        pos = s.end.min(to);
    }
    masked.extend_from_slice(&hay[pos..to]);
    for (secret, mask) in masks {
        masked = replace_all(&masked, secret, mask.as_bytes());
    }
    (raw, masked)
}

/// The line(s) holding `secret`, without the newline that ends the last:
/// a secret ending in a newline does not reach into the next line.
fn secret_lines(hay: &[u8], secret: Range<usize>) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..secret.start]).map_or(0, |i| i + 1);
    let last = if secret.end > secret.start {
        secret.end - 1
    } else {
        secret.start
    };
    let end = memchr::memchr(b'\n', &hay[last..]).map_or(hay.len(), |i| last + i);
    start..end.max(start)
}

fn replace_all(text: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return text.to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    for at in memchr::memmem::find_iter(text, needle) {
        if at < pos {
            continue;
        }
        out.extend_from_slice(&text[pos..at]);
        out.extend_from_slice(with);
        pos = at + needle.len();
    }
    out.extend_from_slice(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load::{build_rule_set, parse_rule_file};
    use crate::sources::Chunk;

    /// A key id rule and a secret rule whose trailing delimiter may match a
    /// newline, the shape of many real rules.
    const RULES: &str = r#"
[[rules]]
id = "key-id"
description = "key id"
regex = '''\b(KID[0-9A-Z]{13})\b'''
keywords = ["kid"]
confidence = "high"

[[rules]]
id = "key-secret"
description = "key secret"
regex = '''(?i:key_secret)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9/+]{24})(?:[^A-Za-z0-9/+]|$)'''
keywords = ["key_secret"]

[[rules]]
id = "db-password"
description = "db password"
regex = '''postgres://[a-z_]{1,20}:([^@\s]{8,64})@'''
keywords = ["postgres://"]
"#;

    const KID: &str = "KIDQ7WE9RT2YU4IO";
    const SECRET: &str = "q8VdN2xLr7Tz/Pw4Kc9Hb3Jm";
    const PASSWORD: &str = "Xk9vR2mPq7LwT4zN";

    fn scanner() -> Scanner {
        let file = parse_rule_file(RULES, "t.toml").unwrap();
        let rules = build_rule_set(&[("t".into(), file)], &[]).unwrap();
        Scanner::new(Arc::new(Engine::new(Arc::new(rules)).unwrap()), false)
    }

    fn scan(text: &str, keep: Range<usize>) -> Vec<Finding> {
        let s = scanner();
        let chunk = Chunk {
            data: text.as_bytes(),
            keep,
            line_base: 0,
            column_base: 0,
        };
        s.scan_chunk(&Provenance::path("creds.json"), &chunk, None);
        s.finish().0
    }

    fn masked(f: &Finding) -> String {
        String::from_utf8_lossy(&f.line_masked).into_owned()
    }

    #[test]
    fn excerpt_masks_every_secret_of_its_line_and_stops_at_its_end() {
        let text = format!(
            "{{\"KeyId\":\"{KID}\",\"Key_Secret\":\"{SECRET}\"}}\nkey_secret={SECRET}\nDATABASE_URL=postgres://app_user:{PASSWORD}@db:5432/app\n"
        );
        let found = scan(&text, 0..text.len());
        assert_eq!(found.len(), 4, "{found:?}");
        for f in &found {
            let shown = masked(f);
            for s in [KID, SECRET, PASSWORD] {
                assert!(!shown.contains(s), "{}: {shown}", f.rule);
            }
            assert!(!shown.contains('\n'), "{}: {shown}", f.rule);
        }
        assert_eq!(
            masked(&found[0]),
            "{\"KeyId\":\"KIDQ***\",\"Key_Secret\":\"q8Vd***\"}"
        );
        assert_eq!(masked(&found[2]), "key_secret=q8Vd***");
        assert_eq!(
            found[2].line_text,
            format!("key_secret={SECRET}").into_bytes()
        );
    }

    #[test]
    fn a_secret_another_chunk_reports_is_masked_here_too() {
        let text = format!("a {KID} b postgres://u:{PASSWORD}@h\n");
        // This chunk keeps only the start: the password's match belongs to
        // the next chunk, but its secret is on this finding's line.
        let found = scan(&text, 0..10);
        assert_eq!(found.len(), 1);
        assert_eq!(masked(&found[0]), "a KIDQ*** b postgres://u:Xk9v***@h");
    }

    #[test]
    fn clipping_a_long_line_never_cuts_a_secret() {
        // The margin after the key id ends inside the password.
        let filler = "x".repeat(140);
        let text = format!("{KID} {filler} postgres://app:{PASSWORD}@h {filler}\n");
        let found = scan(&text, 0..text.len());
        let kid = found.iter().find(|f| f.rule == "key-id").unwrap();
        let shown = masked(kid);
        assert!(!shown.contains(&PASSWORD[4..]), "{shown}");
        assert!(shown.ends_with("postgres://app:Xk9v***"), "{shown}");
    }

    #[test]
    fn other_occurrences_of_a_masked_secret_are_masked() {
        let text = format!("key_secret={SECRET} # rotated from {SECRET}\n");
        let found = scan(&text, 0..text.len());
        assert_eq!(
            masked(&found[0]),
            "key_secret=q8Vd*** # rotated from q8Vd***"
        );
    }

    #[test]
    fn secret_lines_end_before_a_secret_s_final_newline() {
        let hay = b"one\nBEGIN\nbody\n\nnext\n";
        assert_eq!(secret_lines(hay, 4..15), 4..14);
        assert_eq!(secret_lines(hay, 4..9), 4..9);
        assert_eq!(secret_lines(hay, 0..1), 0..3);
    }
}
