//! The scan pipeline's middle: blobs from a source go through the engine,
//! raw matches become findings with positions and provenance, and the run
//! keeps its counts for the summary and the progress bar.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{line_around, Engine};
use crate::finding::{fingerprint, Finding};
use crate::sources::{BlobSink, Chunk, Provenance, SkipReason};

/// Collects findings and counts from every source thread.
pub struct Scanner {
    engine: Arc<Engine>,
    findings: Mutex<Vec<Finding>>,
    files: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    skipped: Mutex<BTreeMap<SkipReason, u64>>,
    /// Error lines, printed to stderr as they happen unless quiet.
    quiet: bool,
    progress: Option<ProgressBar>,
    last_progress_ms: AtomicU64,
    started: Instant,
}

/// How often the progress bar's numbers change.
const PROGRESS_INTERVAL_MS: u64 = 80;

/// What a finished scan saw.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub files: u64,
    pub bytes: u64,
    pub errors: u64,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub elapsed: Duration,
}

impl ScanSummary {
    /// Something was actually read: the condition for a clean exit.
    pub fn scanned_anything(&self) -> bool {
        self.files > 0
    }

    pub fn one_line(&self, findings: usize) -> String {
        let secs = self.elapsed.as_secs_f64();
        let mb = self.bytes as f64 / 1e6;
        let mut s = format!(
            "scanned {} file{} ({}) in {:.2}s",
            self.files,
            if self.files == 1 { "" } else { "s" },
            human_bytes(self.bytes),
            secs
        );
        if secs > 0.0 && mb > 1.0 {
            s.push_str(&format!(" ({:.0} MB/s)", mb / secs));
        }
        s.push_str(&format!(
            ", {} finding{}",
            findings,
            if findings == 1 { "" } else { "s" }
        ));
        let skipped: u64 = self.skipped.values().sum();
        if skipped > 0 {
            let parts: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{n} {}", r.as_str()))
                .collect();
            s.push_str(&format!(", skipped {skipped} ({})", parts.join(", ")));
        }
        if self.errors > 0 {
            s.push_str(&format!(
                ", {} unreadable input{}",
                self.errors,
                if self.errors == 1 { "" } else { "s" }
            ));
        }
        s
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, quiet: bool, show_progress: bool) -> Scanner {
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
            quiet,
            progress,
            last_progress_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
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

    /// Ends the run: clears the progress bar, returns findings (sorted by
    /// path and position) and the summary.
    pub fn finish(self) -> (Vec<Finding>, ScanSummary) {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        let mut findings = self
            .findings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule, &a.commit)
                .cmp(&(&b.path, b.line, b.column, &b.rule, &b.commit))
        });
        findings.dedup_by(|a, b| {
            a.path == b.path
                && a.line == b.line
                && a.column == b.column
                && a.rule == b.rule
                && a.commit == b.commit
                && a.layer == b.layer
        });
        let summary = ScanSummary {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            errors: self.errors.into_inner(),
            skipped: self.skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
            elapsed: self.started.elapsed(),
        };
        (findings, summary)
    }

    fn report_line(&self, line: &str) {
        if self.quiet {
            return;
        }
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
        // by name (`*.p12` keystores are binary) must see it.
        if reason != SkipReason::Symlink {
            self.report_path_only(&Provenance::path(input));
        }
        if let Ok(mut s) = self.skipped.lock() {
            *s.entry(reason).or_insert(0) += 1;
        }
    }

    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.report_line(&message);
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
                fingerprint: fingerprint(&rule.id, &prov.path, b""),
                entropy: 0.0,
                confidence: rule.confidence,
                secret: Vec::new(),
                commit: prov.commit.clone(),
                author: prov.author.clone(),
                email: prov.email.clone(),
                date: prov.date.clone(),
                layer: prov.layer.clone(),
                deleted: prov.deleted,
                line_text: format!("file detected: {}", prov.path).into_bytes(),
            }
        });
        if let Ok(mut all) = self.findings.lock() {
            all.extend(found);
        }
    }

    /// Matches one chunk. `mapped` gives (line, column) of a byte offset
    /// when the chunk's bytes were rewritten from the input; then the end
    /// position is taken just after the secret's last byte, since the byte
    /// that follows it in the chunk may come from much later in the input.
    /// Without it, positions are counted in the chunk itself.
    fn scan_chunk(
        &self,
        prov: &Provenance,
        chunk: &Chunk<'_>,
        mapped: Option<&dyn Fn(usize) -> (u64, u64)>,
    ) {
        let mut raw = Vec::new();
        self.engine
            .scan_into(chunk.data, Some(&prov.path), chunk.keep.clone(), &mut raw);
        if raw.is_empty() {
            return;
        }
        let rules = &self.engine.rules().rules;
        let mut found = Vec::with_capacity(raw.len());
        // In offset order, each position of an unmapped chunk is counted
        // from the previous one: counting from the chunk's start for every
        // finding is quadratic in a busy chunk.
        raw.sort_by_key(|m| m.secret_start);
        let mut last = (0, chunk.position(0));
        for m in raw {
            let rule = &rules[m.rule];
            let secret = chunk.data[m.secret_start..m.secret_end].to_vec();
            let (line, column, end_line, end_column) = if let Some(position) = mapped {
                let (line, column) = position(m.secret_start);
                let (end_line, end_column) = if m.secret_end > m.secret_start {
                    let (l, c) = position(m.secret_end - 1);
                    (l, c + 1)
                } else {
                    position(m.secret_end)
                };
                (line, column, end_line, end_column)
            } else {
                let (line, column) = chunk.position_from(last.0, last.1, m.secret_start);
                last = (m.secret_start, (line, column));
                let (end_line, end_column) =
                    chunk.position_from(m.secret_start, (line, column), m.secret_end);
                (line, column, end_line, end_column)
            };
            found.push(Finding {
                rule: rule.id.clone(),
                description: rule.description.clone(),
                path: prov.path.clone(),
                line,
                end_line,
                column,
                end_column,
                fingerprint: fingerprint(&rule.id, &prov.path, &secret),
                entropy: m.entropy,
                confidence: rule.confidence,
                secret,
                commit: prov.commit.clone(),
                author: prov.author.clone(),
                email: prov.email.clone(),
                date: prov.date.clone(),
                layer: prov.layer.clone(),
                deleted: prov.deleted,
                line_text: excerpt(chunk.data, m.start, m.end),
            });
        }
        if let Ok(mut all) = self.findings.lock() {
            all.extend(found);
        }
    }
}

/// The line(s) around a match, clipped to a margin on each side: a
/// minified file's one line can be megabytes long. The clip never cuts into
/// the match, so masking the secret in the excerpt is always complete.
fn excerpt(hay: &[u8], start: usize, end: usize) -> Vec<u8> {
    const MARGIN: usize = 160;
    let line = line_around(hay, start..end);
    let line_start = line.as_ptr() as usize - hay.as_ptr() as usize;
    let line_end = line_start + line.len();
    let from = line_start.max(start.saturating_sub(MARGIN));
    let to = line_end.min(end + MARGIN);
    hay[from..to].to_vec()
}
