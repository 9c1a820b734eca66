//! `--format json`: one JSON object, `{"findings": [...], "summary": {...}}`:
//! the findings, and what the scan covered (files, bytes, skips by reason,
//! unreadable inputs). It is also accepted as a `--baseline`.

use std::io::{self, Write};

use super::{summary_json, ReportContext};
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let values: Vec<_> = findings.iter().map(|f| f.to_json(ctx.reveal)).collect();
    let doc = serde_json::json!({
        "findings": values,
        "summary": summary_json(ctx.summary, findings.len()),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn findings_and_summary_in_one_object() {
        let text = render(write, &[finding("a.env", 2), finding("b.env", 1)], false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let findings = v["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0]["secret"], "ghp_***");
        assert_eq!(v["summary"]["findings"], 2);
        assert!(v["summary"]["skipped"].is_object());
        assert!(!text.contains(TOKEN));
    }
}
