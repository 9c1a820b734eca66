//! Filters between findings and reports: suppress what the team already
//! knows about, by fingerprint, from a baseline report or an ignore file
//! (`.leakscrubignore`, or gitleaks' `.gitleaksignore`).

pub mod overlap;

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::finding::Finding;

/// The per-repository ignore file: one fingerprint per line, `#` comments.
pub const IGNORE_FILE: &str = ".leakscrubignore";
/// gitleaks' ignore file, read the same way and from the same folder.
pub const GITLEAKS_IGNORE_FILE: &str = ".gitleaksignore";

#[derive(Debug, Default)]
pub struct Suppressions {
    fingerprints: HashSet<String>,
    /// gitleaks fingerprints, which name a place rather than a secret.
    locations: HashSet<IgnoredLocation>,
}

/// A gitleaks fingerprint: `file:rule:line`, or `commit:file:rule:line`
/// for one commit only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IgnoredLocation {
    commit: Option<String>,
    /// Normalised with [`normalise_path`].
    path: String,
    rule: String,
    line: u64,
}

/// One line of an ignore file.
#[derive(Debug, PartialEq)]
enum IgnoreEntry {
    /// leakscrub's `rule:hash`.
    Fingerprint(String),
    Location(IgnoredLocation),
}

impl Suppressions {
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.locations.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len() + self.locations.len()
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

    /// Reads `.leakscrubignore` and `.gitleaksignore` in `dir`; returns
    /// one warning per line that is not a fingerprint.
    pub fn add_ignore_files(&mut self, dir: &Path) -> Result<Vec<String>> {
        let mut warnings = self.add_ignore_file(&dir.join(IGNORE_FILE))?;
        warnings.extend(self.add_ignore_file(&dir.join(GITLEAKS_IGNORE_FILE))?);
        Ok(warnings)
    }

    /// Adds the fingerprints listed in an ignore file; a missing file is
    /// fine. Both files take both kinds of fingerprint: leakscrub's
    /// `rule:hash` and gitleaks' `[commit:]file:rule:line`, whose file is
    /// relative to the ignore file's folder. A line that is neither is
    /// skipped with a warning naming the file and line number, not its
    /// text: a mistaken line may be a pasted secret.
    pub fn add_ignore_file(&mut self, path: &Path) -> Result<Vec<String>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut warnings = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            // `#` starts a comment at the start of a line or after a
            // blank; a path may hold a `#` of its own.
            let entry = match line.find(" #").or_else(|| line.find("\t#")) {
                Some(at) => line[..at].trim_end(),
                None => line,
            };
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            match parse_ignore_entry(entry) {
                Some(IgnoreEntry::Fingerprint(fp)) => {
                    self.fingerprints.insert(fp);
                }
                Some(IgnoreEntry::Location(loc)) => {
                    // As written (findings of a scan run in that folder)
                    // and under the folder (a scan run from elsewhere).
                    let under_dir = IgnoredLocation {
                        path: normalise_path(&dir.join(&loc.path).to_string_lossy()),
                        ..loc.clone()
                    };
                    self.locations.insert(under_dir);
                    self.locations.insert(loc);
                }
                None => warnings.push(format!(
                    "warning: {}:{}: not a fingerprint (RULE:HASH, FILE:RULE:LINE or \
                     COMMIT:FILE:RULE:LINE); line ignored",
                    path.display(),
                    i + 1
                )),
            }
        }
        Ok(warnings)
    }

    pub fn suppresses(&self, f: &Finding) -> bool {
        if self.fingerprints.contains(&f.fingerprint) {
            return true;
        }
        if self.locations.is_empty() {
            return false;
        }
        let mut place = IgnoredLocation {
            commit: None,
            path: normalise_path(&f.path),
            rule: f.rule.clone(),
            line: f.line,
        };
        if self.locations.contains(&place) {
            return true;
        }
        place.commit = f.commit.clone();
        place.commit.is_some() && self.locations.contains(&place)
    }

    /// Keeps the findings not suppressed; returns how many were dropped.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let before = findings.len();
        findings.retain(|f| !self.suppresses(f));
        before - findings.len()
    }
}

fn parse_ignore_entry(entry: &str) -> Option<IgnoreEntry> {
    let parts: Vec<&str> = entry.split(':').collect();
    let valid_rule = |r: &str| !r.is_empty() && !r.contains(char::is_whitespace);
    match parts.as_slice() {
        [rule, hash]
            if valid_rule(rule)
                && hash.len() == 32
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Some(IgnoreEntry::Fingerprint(entry.to_string()))
        }
        [file, rule, line] | [_, file, rule, line] if !file.is_empty() && valid_rule(rule) => {
            let commit = (parts.len() == 4).then(|| parts[0].to_string());
            if commit.as_deref().is_some_and(|c| c.is_empty()) {
                return None;
            }
            Some(IgnoreEntry::Location(IgnoredLocation {
                commit,
                path: normalise_path(file),
                rule: rule.to_string(),
                line: line.parse().ok()?,
            }))
        }
        _ => None,
    }
}

/// One spelling per path: `/` separators (gitleaks on Windows writes
/// `\\`), no `.` or empty components.
fn normalise_path(path: &str) -> String {
    let unified = path.replace('\\', "/");
    let absolute = unified.starts_with('/');
    let parts: Vec<&str> = unified
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
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

    fn located(path: &str, rule: &str, line: u64, commit: Option<&str>) -> Finding {
        let mut f = crate::report::testutil::finding(path, line);
        f.rule = rule.into();
        f.line = line;
        f.fingerprint = format!("{rule}:0f3c9a7be21d4c5e8f60a1b2c3d4e5f6");
        f.commit = commit.map(String::from);
        f
    }

    #[test]
    fn ignore_file_comments_and_leakscrub_fingerprints() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(IGNORE_FILE);
        std::fs::write(
            &p,
            "# reviewed 2026-03\n\
             github-pat:9d2e41c07a5b3f68e1d0c4b7a2f95e83  # test key\n\
             \n\
             \t# indented comment\n\
             aws-access-key-id:5e119bf3f5f8ee3d5fde646c8b7e7932\n",
        )
        .unwrap();
        let mut s = Suppressions::default();
        assert!(s.add_ignore_file(&p).unwrap().is_empty());
        assert!(s
            .add_ignore_file(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
        assert_eq!(s.len(), 2);
        let mut f = vec![
            finding("github-pat:9d2e41c07a5b3f68e1d0c4b7a2f95e83"),
            finding("github-pat:1111111111111111aaaaaaaaaaaaaaaa"),
        ];
        assert_eq!(s.apply(&mut f), 1);
    }

    #[test]
    fn lines_that_are_not_fingerprints_are_warned_about_by_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(IGNORE_FILE);
        std::fs::write(
            &p,
            "github-pat:9d2e41c07a5b3f68e1d0c4b7a2f95e83\n\
             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\n\
             # ok\n\
             generic-api-key:12\n\
             config/app.ini:generic-api-key:seven\n\
             config/app.ini:generic-api-key:7\n",
        )
        .unwrap();
        let mut s = Suppressions::default();
        let warnings = s.add_ignore_file(&p).unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        for (w, line) in warnings.iter().zip([2, 4, 5]) {
            assert!(
                w.contains(&format!("{IGNORE_FILE}:{line}: not a fingerprint")),
                "{w}"
            );
            // The line may be a pasted secret: never echoed.
            assert!(!w.contains("ghp_R4nd"), "{w}");
        }
    }

    #[test]
    fn gitleaks_fingerprints_name_file_rule_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let p = repo.join(GITLEAKS_IGNORE_FILE);
        std::fs::write(
            &p,
            "config/app.ini:generic-api-key:7\n\
             deploy\\prod.env:aws-access-token:2\n\
             3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e:src/main.go:github-pat:41\n",
        )
        .unwrap();
        let mut s = Suppressions::default();
        let none = s.add_ignore_files(&repo).unwrap();
        assert!(none.is_empty(), "{none:?}");
        let repo_path = repo.to_string_lossy().to_string();
        let commit = "3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e";
        let mut f = vec![
            // Suppressed: as written, under the scanned folder, `./`, `\`.
            located("config/app.ini", "generic-api-key", 7, None),
            located(
                &format!("{repo_path}/config/app.ini"),
                "generic-api-key",
                7,
                None,
            ),
            located("./config/app.ini", "generic-api-key", 7, Some(commit)),
            located("deploy/prod.env", "aws-access-token", 2, None),
            located("src/main.go", "github-pat", 41, Some(commit)),
            // Kept: another line, rule, file or commit.
            located("config/app.ini", "generic-api-key", 8, None),
            located("config/app.ini", "generic-password", 7, None),
            located("other/app.ini", "generic-api-key", 7, None),
            located(
                "src/main.go",
                "github-pat",
                41,
                Some("0000000000000000000000000000000000000000"),
            ),
            located("src/main.go", "github-pat", 41, None),
        ];
        assert_eq!(s.apply(&mut f), 5);
        let kept: Vec<(String, u64)> = f.iter().map(|f| (f.path.clone(), f.line)).collect();
        assert_eq!(kept.len(), 5, "{kept:?}");
        assert!(f
            .iter()
            .all(|f| f.line != 2 && !f.path.starts_with(&repo_path)));
    }
}
