//! Known secret values: from named environment variables, environment
//! globs, and values files.
//!
//! A values file holds one value per line. Blank lines and lines whose
//! first non-blank character is `#` are skipped; a line that is a JSON
//! string literal (`"..."`) is decoded, which is how a multi-line value or
//! one starting with `#` or blanks is written. A trailing `\r` is dropped.
//!
//! Messages name the variable or `file:line`, never the value.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A secret value to mask, with the name it is reported under.
#[derive(Clone, PartialEq, Eq)]
pub struct KnownValue {
    pub name: String,
    pub value: Vec<u8>,
}

/// Debug output names the value, never shows it.
impl std::fmt::Debug for KnownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValue")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Where known values come from (`--value-env`, `--values-from-env`,
/// `--values-file`).
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
    pub env_names: Vec<String>,
    pub env_globs: Vec<String>,
    pub files: Vec<PathBuf>,
    pub min_length: usize,
}

/// Gathers the known values; `warn` receives messages (never a value).
pub fn collect(sources: &ValueSources, warn: &mut dyn FnMut(String)) -> Result<Vec<KnownValue>> {
    collect_from(sources, std::env::vars_os(), warn)
}

/// [`collect`] over an explicit environment.
pub fn collect_from<I>(
    sources: &ValueSources,
    env: I,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<KnownValue>>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let env: Vec<(String, Vec<u8>)> = env
        .into_iter()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), os_bytes(v)))
        .collect();
    let mut found = Found::new(sources.min_length);

    for name in &sources.env_names {
        match env.iter().find(|(k, _)| k == name) {
            Some((k, v)) => found.add(k.clone(), v.clone(), warn),
            None => warn(format!("environment variable {name} is not set")),
        }
    }
    let globs: Vec<&str> = sources
        .env_globs
        .iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    if !globs.is_empty() {
        let mut matched: Vec<&(String, Vec<u8>)> = env
            .iter()
            .filter(|(k, _)| globs.iter().any(|g| glob_matches(g, k)))
            .collect();
        // The environment's order is arbitrary; names decide which of two
        // variables holding one value reports it.
        matched.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in matched {
            found.add(k.clone(), v.clone(), warn);
        }
    }
    for file in &sources.files {
        read_values_file(file, &mut found, warn)?;
    }
    Ok(found.values)
}

#[cfg(unix)]
fn os_bytes(v: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    v.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(v: OsString) -> Vec<u8> {
    v.to_string_lossy().into_owned().into_bytes()
}

/// Values gathered so far, deduplicated, in first-seen order.
struct Found {
    min_length: usize,
    values: Vec<KnownValue>,
    seen: HashSet<Vec<u8>>,
}

impl Found {
    fn new(min_length: usize) -> Found {
        Found {
            min_length,
            values: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn add(&mut self, name: String, value: Vec<u8>, warn: &mut dyn FnMut(String)) {
        if value.len() < self.min_length.max(1) {
            warn(format!(
                "{name}: value shorter than {} bytes, not masked",
                self.min_length.max(1)
            ));
            return;
        }
        if self.seen.insert(value.clone()) {
            self.values.push(KnownValue { name, value });
        }
    }
}

fn read_values_file(path: &Path, found: &mut Found, warn: &mut dyn FnMut(String)) -> Result<()> {
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read values file {}", path.display()))?;
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        let name = format!("{}:{}", path.display(), i + 1);
        let value = if trimmed.len() >= 2 && trimmed.starts_with(b"\"") && trimmed.ends_with(b"\"")
        {
            match serde_json::from_slice::<String>(trimmed) {
                Ok(s) => s.into_bytes(),
                Err(_) => {
                    // Kept as written: dropping it would leave a secret
                    // unmasked.
                    warn(format!(
                        "{name}: not a valid JSON string, the line is used as written"
                    ));
                    line.to_vec()
                }
            }
        } else {
            line.to_vec()
        };
        found.add(name, value, warn);
    }
    Ok(())
}

/// Case-insensitive match of a name against a glob with `*` (any run) and
/// `?` (one character).
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let pattern: Vec<char> = glob.chars().flat_map(char::to_lowercase).collect();
    let text: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    // Iterative matcher with single-star backtracking: linear in practice,
    // never exponential.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn run(sources: &ValueSources, pairs: &[(&str, &str)]) -> (Vec<KnownValue>, Vec<String>) {
        let mut warnings = Vec::new();
        let values = collect_from(sources, env(pairs), &mut |w| warnings.push(w)).unwrap();
        (values, warnings)
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*TOKEN*", "github_token"));
        assert!(glob_matches("*_KEY", "AWS_SECRET_KEY"));
        assert!(!glob_matches("*_KEY", "KEYRING"));
        assert!(glob_matches("DB_PASS?", "db_pass1"));
        assert!(!glob_matches("DB_PASS?", "DB_PASS"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXXbYYbZc"));
        assert!(!glob_matches("a*b*c", "aXXbYYbZ"));
    }

    #[test]
    fn named_variables_and_globs() {
        let sources = ValueSources {
            env_names: vec!["DEPLOY".into(), "MISSING_ONE".into()],
            env_globs: vec!["*TOKEN*,*_key".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let (values, warnings) = run(
            &sources,
            &[
                ("DEPLOY", "deploy-s3cret"),
                ("GH_TOKEN", "ghp_tokenvalue"),
                ("AWS_SECRET_KEY", "aws-secret-value"),
                ("SHORT_TOKEN", "abc"),
                ("PATH", "/usr/bin:/bin"),
                ("COPY_TOKEN", "deploy-s3cret"),
            ],
        );
        let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["DEPLOY", "AWS_SECRET_KEY", "GH_TOKEN"]);
        assert_eq!(values[0].value, b"deploy-s3cret");
        assert!(warnings.iter().any(|w| w.contains("MISSING_ONE")));
        assert!(warnings.iter().any(|w| w.contains("SHORT_TOKEN")));
        assert!(warnings.iter().all(|w| !w.contains("abc")));
    }

    #[test]
    fn values_file_lines_comments_and_json() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(
            f,
            "# comment\n\nplain-value-1\r\n  # indented comment\n\
             \"-----BEGIN KEY-----\\nline two\\n-----END KEY-----\\n\"\n\
             \"#starts-with-hash\"\ntiny\n\"broken \\q json\"\nplain-value-1\n"
        )
        .unwrap();
        let sources = ValueSources {
            files: vec![f.path().to_path_buf()],
            min_length: 6,
            ..ValueSources::default()
        };
        let (values, warnings) = run(&sources, &[]);
        let got: Vec<&[u8]> = values.iter().map(|v| &v.value[..]).collect();
        assert_eq!(
            got,
            [
                &b"plain-value-1"[..],
                b"-----BEGIN KEY-----\nline two\n-----END KEY-----\n",
                b"#starts-with-hash",
                b"\"broken \\q json\"",
            ]
        );
        assert!(values[0].name.ends_with(":3"));
        assert!(warnings
            .iter()
            .any(|w| w.ends_with("not masked") && w.contains(":7:")));
        assert!(warnings.iter().all(|w| !w.contains("tiny")));
        assert!(warnings.iter().any(|w| w.contains(":8:")));
    }

    #[test]
    fn unreadable_values_file_names_it() {
        let sources = ValueSources {
            files: vec![PathBuf::from("no/such/values.txt")],
            min_length: 6,
            ..ValueSources::default()
        };
        let err = collect_from(&sources, env(&[]), &mut |_| {}).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("no/such/values.txt"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn real_process_environment() {
        // `collect` reads this process's environment; a child's is passed
        // explicitly here so the test does not mutate the environment.
        let out = std::process::Command::new("env")
            .env_clear()
            .env("CI_JOB_TOKEN", "job-token-value")
            .env("HOME", "/nowhere")
            .output()
            .unwrap();
        let pairs: Vec<(OsString, OsString)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let sources = ValueSources {
            env_globs: vec!["*TOKEN*".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let values = collect_from(&sources, pairs, &mut |_| {}).unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].name, "CI_JOB_TOKEN");
        // And `collect` itself runs on the live environment without error.
        assert!(collect(&sources, &mut |_| {}).is_ok());
    }
}
