//! `--format jsonl`: one JSON object per line, for streaming consumers.

use std::io::{self, Write};

use super::ReportContext;
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &f.to_json(ctx.reveal))?;
        writeln!(out)?;
    }
    Ok(())
}
