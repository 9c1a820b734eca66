//! What a scan covered: files and bytes read, inputs skipped by reason,
//! unreadable inputs, time. The scanner fills it in; reports and the
//! command line read it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::sources::SkipReason;

/// What a finished scan saw.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub files: u64,
    pub bytes: u64,
    pub errors: u64,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub elapsed: Duration,
    /// Why the scan ended before reading everything, if it did.
    pub stopped_early: Option<StoppedEarly>,
}

/// Why a scan stopped before reading every input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoppedEarly {
    /// `--max-findings`: this many findings were made.
    MaxFindings(u64),
    /// `--fail-fast`: an input could not be read.
    FirstError,
}

impl StoppedEarly {
    pub fn describe(self) -> String {
        match self {
            StoppedEarly::MaxFindings(n) => format!(
                "stopped early after {n} finding{} (--max-findings)",
                plural(n)
            ),
            StoppedEarly::FirstError => {
                "stopped early at the first unreadable input (--fail-fast)".to_string()
            }
        }
    }

    /// A short identifier for machine-readable summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            StoppedEarly::MaxFindings(_) => "max_findings",
            StoppedEarly::FirstError => "fail_fast",
        }
    }
}

impl ScanSummary {
    /// Something was actually read: the condition for a clean exit.
    pub fn scanned_anything(&self) -> bool {
        self.files > 0
    }

    pub fn one_line(&self, findings: usize) -> String {
        self.line_with_suppressed(findings, 0)
    }

    /// Inputs passed over because an ignore file matched them: (files,
    /// folders).
    pub fn ignored(&self) -> (u64, u64) {
        let count = |r| self.skipped.get(&r).copied().unwrap_or(0);
        (count(SkipReason::Ignored), count(SkipReason::IgnoredFolder))
    }

    /// The summary line, with `suppressed` findings dropped by a baseline
    /// or ignore file. What ignore rules hid comes last, with the way to
    /// scan it.
    pub fn line_with_suppressed(&self, findings: usize, suppressed: usize) -> String {
        let secs = self.elapsed.as_secs_f64();
        let mb = self.bytes as f64 / 1e6;
        let mut s = format!(
            "scanned {} file{} ({}) in {:.2}s",
            self.files,
            plural(self.files),
            human_bytes(self.bytes),
            secs
        );
        if secs > 0.0 && mb > 1.0 {
            s.push_str(&format!(" ({:.0} MB/s)", mb / secs));
        }
        s.push_str(&format!(
            ", {} finding{}",
            findings,
            plural(findings as u64)
        ));
        let skipped: Vec<(SkipReason, u64)> = self
            .skipped
            .iter()
            .filter(|(r, n)| !r.is_ignore_rule() && **n > 0)
            .map(|(r, n)| (*r, *n))
            .collect();
        if !skipped.is_empty() {
            let total: u64 = skipped.iter().map(|(_, n)| n).sum();
            let parts: Vec<String> = skipped
                .iter()
                .map(|(r, n)| format!("{n} {}", r.as_str()))
                .collect();
            s.push_str(&format!(", skipped {total} ({})", parts.join(", ")));
        }
        if self.errors > 0 {
            s.push_str(&format!(
                ", {} unreadable input{}",
                self.errors,
                plural(self.errors)
            ));
        }
        if let Some(stop) = self.stopped_early {
            s.push_str(&format!(", {}", stop.describe()));
        }
        if suppressed > 0 {
            s.push_str(&format!(", {suppressed} suppressed by baseline/ignore"));
        }
        let (files, folders) = self.ignored();
        if files + folders > 0 {
            s.push_str(&format!(", {} ignored by .gitignore", files + folders));
            if folders > 0 {
                s.push_str(&format!(
                    " ({files} file{}, {folders} folder{})",
                    plural(files),
                    plural(folders)
                ));
            }
            s.push_str("; --no-ignore to scan them");
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(skipped: &[(SkipReason, u64)], errors: u64) -> ScanSummary {
        ScanSummary {
            files: 12,
            bytes: 48_200,
            errors,
            skipped: skipped.iter().copied().collect(),
            elapsed: Duration::from_millis(30),
            stopped_early: None,
        }
    }

    #[test]
    fn a_scan_that_stopped_early_says_why() {
        let mut s = summary(&[], 0);
        assert!(!s.one_line(3).contains("stopped"));
        s.stopped_early = Some(StoppedEarly::MaxFindings(3));
        let line = s.one_line(3);
        assert!(
            line.ends_with(", 3 findings, stopped early after 3 findings (--max-findings)"),
            "{line}"
        );
        s.stopped_early = Some(StoppedEarly::FirstError);
        assert!(s
            .one_line(0)
            .contains("stopped early at the first unreadable input"));
    }

    #[test]
    fn ignored_entries_come_last_with_the_way_to_scan_them() {
        let s = summary(
            &[
                (SkipReason::Binary, 2),
                (SkipReason::Ignored, 4),
                (SkipReason::IgnoredFolder, 3),
                (SkipReason::NotAFile, 1),
            ],
            1,
        );
        let line = s.line_with_suppressed(2, 1);
        assert!(
            line.ends_with(
                ", skipped 3 (2 binary, 1 not a regular file), 1 unreadable input, \
                 1 suppressed by baseline/ignore, \
                 7 ignored by .gitignore (4 files, 3 folders); --no-ignore to scan them"
            ),
            "{line}"
        );
        assert_eq!(s.ignored(), (4, 3));
    }

    #[test]
    fn ignored_files_alone_need_no_breakdown() {
        let line = summary(&[(SkipReason::Ignored, 1)], 0).one_line(0);
        assert!(
            line.ends_with(", 0 findings, 1 ignored by .gitignore; --no-ignore to scan them"),
            "{line}"
        );
        let line = summary(&[], 0).one_line(0);
        assert!(
            !line.contains("ignored") && !line.contains("skipped"),
            "{line}"
        );
    }
}
