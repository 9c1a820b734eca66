//! `--format json`: one JSON array of findings.

use std::io::{self, Write};

use super::ReportContext;
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let values: Vec<_> = findings.iter().map(|f| f.to_json(ctx.reveal)).collect();
    serde_json::to_writer_pretty(&mut *out, &values)?;
    writeln!(out)
}
