//! `--format json`: one JSON array of findings, the shape gitleaks-style
//! consumers and `--baseline` read. What the scan covered goes to
//! `--summary FILE` (and into SARIF's run properties), not into this array,
//! so every element stays a finding.

use std::io::{self, Write};

use super::ReportContext;
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let values: Vec<_> = findings.iter().map(|f| f.to_json(ctx.reveal)).collect();
    serde_json::to_writer_pretty(&mut *out, &values)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn an_array_of_masked_findings() {
        let text = render(write, &[finding("a.env", 2), finding("b.env", 1)], false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let findings = v.as_array().cloned().unwrap_or_default();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0]["secret"], "ghp_***");
        assert!(!text.contains(TOKEN));
    }
}
