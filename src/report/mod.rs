//! Reports: one module per output format. Every format receives the same
//! findings and context; secrets are masked unless the context says reveal.

pub mod json;
pub mod jsonl;
pub mod text;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::scan::ScanSummary;

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
    /// Colour and excerpts for a terminal.
    pub color: bool,
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
        Format::Sarif | Format::Csv | Format::Junit | Format::Github => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("report format {format:?} is not available in this build"),
        )),
    }
}
