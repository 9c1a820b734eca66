//! `--format text`: for people. `path:line:col  rule  secret`, with the
//! masked line as an excerpt in colour on a terminal.

use std::io::{self, Write};

use super::ReportContext;
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let (bold, red, dim, reset) = if ctx.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for f in findings {
        let mut loc = format!("{}:{}:{}", f.path, f.line, f.column);
        if let Some(c) = &f.commit {
            loc = format!("{}:{loc}", &c[..c.len().min(12)]);
        }
        if let Some(l) = &f.layer {
            loc = format!("{l}:{loc}");
        }
        writeln!(
            out,
            "{bold}{loc}{reset}  {red}{}{reset}  {}",
            f.rule,
            f.display_secret(ctx.reveal)
        )?;
        if ctx.color {
            writeln!(out, "    {dim}{}{reset}", f.display_line(ctx.reveal, 160))?;
        }
    }
    Ok(())
}
