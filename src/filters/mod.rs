//! Filters between findings and reports: suppress what the team already
//! knows about, by fingerprint, from a baseline report or an ignore file.

pub mod overlap;

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::finding::Finding;

/// The per-repository ignore file: one fingerprint per line, `#` comments.
pub const IGNORE_FILE: &str = ".leakscrubignore";

#[derive(Debug, Default)]
pub struct Suppressions {
    fingerprints: HashSet<String>,
}

impl Suppressions {
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Adds every fingerprint of an earlier leakscrub report (`json` array,
    /// `{"findings": [...]}`, or `jsonl`).
    pub fn add_baseline(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let trimmed = text.trim_start();
        let values: Vec<serde_json::Value> = if trimmed.is_empty() {
            Vec::new()
        } else if trimmed.starts_with('[') || trimmed.starts_with('{') && !is_jsonl(trimmed) {
            let v: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
                anyhow::anyhow!("baseline {}: not a JSON report: {e}", path.display())
            })?;
            match v {
                serde_json::Value::Array(a) => a,
                serde_json::Value::Object(mut o) => match o.remove("findings") {
                    Some(serde_json::Value::Array(a)) => a,
                    _ => bail!(
                        "baseline {}: expected an array of findings or a \"findings\" array",
                        path.display()
                    ),
                },
                _ => bail!("baseline {}: expected an array of findings", path.display()),
            }
        } else {
            trimmed
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_str(l).map_err(|e| {
                        anyhow::anyhow!("baseline {}: line {}: {e}", path.display(), i + 1)
                    })
                })
                .collect::<Result<_>>()?
        };
        for v in values {
            let fp = v
                .get("fingerprint")
                .or_else(|| v.get("Fingerprint"))
                .and_then(|f| f.as_str());
            if let Some(fp) = fp {
                self.fingerprints.insert(fp.to_string());
            }
        }
        Ok(())
    }

    /// Adds the fingerprints listed in an ignore file; a missing file is fine.
    pub fn add_ignore_file(&mut self, path: &Path) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() {
                self.fingerprints.insert(line.to_string());
            }
        }
        Ok(())
    }

    /// Keeps the findings not suppressed; returns how many were dropped.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> usize {
        if self.fingerprints.is_empty() {
            return 0;
        }
        let before = findings.len();
        findings.retain(|f| !self.fingerprints.contains(&f.fingerprint));
        before - findings.len()
    }
}

fn is_jsonl(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next();
    lines.next().is_some()
        && first.is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn finding(fp: &str) -> Finding {
        let mut f = crate::report::testutil::finding("p", 1);
        f.fingerprint = fp.into();
        f
    }

    #[test]
    fn baseline_formats() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("a.json", r#"[{"fingerprint":"r:1"}]"#),
            ("b.json", r#"{"findings":[{"fingerprint":"r:2"}]}"#),
            (
                "c.jsonl",
                "{\"fingerprint\":\"r:3\"}\n{\"fingerprint\":\"r:4\"}\n",
            ),
        ] {
            let p = dir.path().join(name);
            std::fs::File::create(&p)
                .unwrap()
                .write_all(body.as_bytes())
                .unwrap();
            let mut s = Suppressions::default();
            s.add_baseline(&p).unwrap();
            assert!(!s.is_empty(), "{name}");
        }
        let mut s = Suppressions::default();
        let p = dir.path().join("c.jsonl");
        s.add_baseline(&p).unwrap();
        let mut f = vec![finding("r:3"), finding("r:5")];
        assert_eq!(s.apply(&mut f), 1);
        assert_eq!(f[0].fingerprint, "r:5");
    }

    #[test]
    fn bad_baseline_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "[not json").unwrap();
        let err = Suppressions::default()
            .add_baseline(&p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.json"), "{err}");
    }

    #[test]
    fn ignore_file_comments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(IGNORE_FILE);
        std::fs::write(&p, "# known\nr:9  # test key\n\n").unwrap();
        let mut s = Suppressions::default();
        s.add_ignore_file(&p).unwrap();
        s.add_ignore_file(&dir.path().join("missing")).unwrap();
        assert_eq!(s.len(), 1);
    }
}
