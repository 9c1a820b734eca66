//! Reports: one module per output format. Every format receives the same
//! findings and context; secrets are masked unless the context says reveal.

pub mod csv;
pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::summary::ScanSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
    Sarif,
    Csv,
    Junit,
    Github,
}

/// What a report may need besides the findings.
pub struct ReportContext<'a> {
    pub reveal: bool,
    /// Colour for a terminal; it changes styling, never content.
    pub color: bool,
    /// Text output shows each finding's fingerprint (for an ignore file).
    pub show_fingerprint: bool,
    pub rules: &'a RuleSet,
    pub summary: &'a ScanSummary,
    /// The scanned roots, for formats that want a base location.
    pub roots: &'a [String],
}

pub fn write_report(
    format: Format,
    findings: &[Finding],
    ctx: &ReportContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(findings, ctx, out),
        Format::Json => json::write(findings, ctx, out),
        Format::Jsonl => jsonl::write(findings, ctx, out),
        Format::Sarif => sarif::write(findings, ctx, out),
        Format::Csv => csv::write(findings, ctx, out),
        Format::Junit => junit::write(findings, ctx, out),
        Format::Github => github::write(findings, ctx, out),
    }
}

/// Findings in report order ([`crate::finding::FindingKey`]), so that two
/// runs over the same input give byte-identical reports whatever the order
/// the scanner threads finished in.
pub(crate) fn sorted(findings: &[Finding]) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    v.sort_by(|a, b| a.key().cmp(&b.key()));
    v
}

/// The scan's coverage as machine-readable reports carry it, so CI can
/// check what was read, what was passed over and why, and what could not
/// be read. No timing: two runs over the same input give the same report.
pub fn summary_json(summary: &ScanSummary, findings: usize) -> serde_json::Value {
    let skipped: serde_json::Map<String, serde_json::Value> = summary
        .skipped
        .iter()
        .map(|(reason, n)| (summary_key(reason.as_str()), (*n).into()))
        .collect();
    let mut doc = serde_json::json!({
        "files": summary.files,
        "bytes": summary.bytes,
        "skipped": skipped,
        "skipped_total": summary.skipped.values().sum::<u64>(),
        "errors": summary.errors,
        "findings": findings,
    });
    // Present only when it happened: a complete scan's summary is unchanged.
    if let (Some(stop), Some(obj)) = (summary.stopped_early, doc.as_object_mut()) {
        obj.insert("stopped_early".into(), stop.as_str().into());
    }
    doc
}

/// `too large` -> `too_large`, `ignored by .gitignore` -> `ignored_by_gitignore`:
/// keys a JSON consumer can use as identifiers.
fn summary_key(reason: &str) -> String {
    let mut key = String::with_capacity(reason.len());
    for c in reason.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// Report paths use `/` whatever the platform, so CI annotations and
/// baselines match across runners.
pub(crate) fn slash_path(path: &str) -> String {
    path.replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SkipReason;

    #[test]
    fn summary_counts_skips_by_reason_and_errors() {
        let mut summary = ScanSummary {
            files: 12,
            bytes: 3456,
            errors: 2,
            ..ScanSummary::default()
        };
        summary.skipped.insert(SkipReason::Binary, 3);
        summary.skipped.insert(SkipReason::TooLarge, 1);
        let v = summary_json(&summary, 5);
        assert_eq!(
            v,
            serde_json::json!({
                "files": 12, "bytes": 3456, "errors": 2, "findings": 5,
                "skipped": { "binary": 3, "too_large": 1 }, "skipped_total": 4,
            })
        );
    }

    #[test]
    fn summary_keys_are_identifiers() {
        assert_eq!(summary_key("too large"), "too_large");
        assert_eq!(summary_key("ignored by .gitignore"), "ignored_by_gitignore");
        assert_eq!(summary_key("Binary"), "binary");
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use crate::finding::{fingerprint, Finding};
    use crate::rules::{Confidence, RuleSet};
    use crate::summary::ScanSummary;

    use super::ReportContext;

    pub const TOKEN: &str = "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";

    pub fn finding(path: &str, line: u64) -> Finding {
        let line_text = format!("GITHUB_TOKEN={TOKEN}");
        Finding {
            rule: "github-pat".into(),
            description: "GitHub personal access token (classic)".into(),
            path: path.into(),
            line,
            end_line: line,
            column: 14,
            end_column: 54,
            secret: TOKEN.as_bytes().to_vec(),
            fingerprint: fingerprint("github-pat", path, TOKEN.as_bytes()),
            entropy: 4.584,
            confidence: Confidence::High,
            commit: None,
            author: None,
            email: None,
            message: None,
            date: None,
            layer: None,
            layer_index: None,
            created_by: None,
            deleted: None,
            line_masked: "GITHUB_TOKEN=ghp_***".into(),
            provenance: vec![crate::blob::Origin::File { path: path.into() }],
            line_text: line_text.into_bytes(),
        }
    }

    pub fn render(
        write: fn(&[Finding], &ReportContext<'_>, &mut dyn std::io::Write) -> std::io::Result<()>,
        findings: &[Finding],
        reveal: bool,
    ) -> String {
        render_with(write, findings, reveal, false, false)
    }

    pub fn render_with(
        write: fn(&[Finding], &ReportContext<'_>, &mut dyn std::io::Write) -> std::io::Result<()>,
        findings: &[Finding],
        reveal: bool,
        color: bool,
        show_fingerprint: bool,
    ) -> String {
        let rules = RuleSet::default();
        let summary = ScanSummary::default();
        let roots = vec![".".to_string()];
        let ctx = ReportContext {
            reveal,
            color,
            show_fingerprint,
            rules: &rules,
            summary: &summary,
            roots: &roots,
        };
        let mut out = Vec::new();
        let written = write(findings, &ctx, &mut out);
        assert!(written.is_ok(), "report failed: {written:?}");
        String::from_utf8(out).unwrap_or_default()
    }
}
