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

use anyhow::{bail, Context, Result};

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
    /// Globs over variable names; one starting with `!` excludes the names
    /// it matches, whatever other globs match them.
    pub env_globs: Vec<String>,
    pub files: Vec<PathBuf>,
    pub min_length: usize,
    /// A variable named in `env_names` that is not set is a warning, not an
    /// error.
    pub allow_missing: bool,
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
            None => {
                if let Some(slip) = value_instead_of_name(name, &env) {
                    // Whatever --allow-missing-values says: the user meant
                    // to mask something, and it would not be.
                    bail!("{slip}");
                }
                let problem = unset_variable(name, &env);
                if !sources.allow_missing {
                    bail!("{problem} (--allow-missing-values to go on without it)");
                }
                warn(problem);
            }
        }
    }
    let (excluded, included): (Vec<&str>, Vec<&str>) = sources
        .env_globs
        .iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .partition(|g| g.starts_with('!'));
    let excluded: Vec<&str> = excluded.iter().map(|g| &g[1..]).collect();
    if !included.is_empty() {
        let mut matched: Vec<&(String, Vec<u8>)> = env
            .iter()
            .filter(|(k, _)| included.iter().any(|g| glob_matches(g, k)))
            .filter(|(k, _)| !excluded.iter().any(|g| glob_matches(g, k)))
            .collect();
        // The environment's order is arbitrary; names decide which of two
        // variables holding one value reports it.
        matched.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in matched {
            // An empty variable has nothing to mask, and broad globs meet
            // many (undefined CI secrets, `CARGO_PKG_AUTHORS=`): no warning.
            if !v.is_empty() {
                found.add(k.clone(), v.clone(), warn);
            }
        }
    }
    for file in &sources.files {
        read_values_file(file, &mut found, warn)?;
    }
    Ok(found.values)
}

/// `--value-env "$TOKEN"` (the value instead of the name) is an easy
/// slip: an argument that is some variable's value, or that could not be a
/// variable name, is described without being repeated.
fn value_instead_of_name(name: &str, env: &[(String, Vec<u8>)]) -> Option<String> {
    if let Some((holder, _)) = env.iter().find(|(_, v)| v == name.as_bytes()) {
        return Some(format!(
            "--value-env was given the value of {holder}, not a variable name"
        ));
    }
    if !is_variable_name(name) {
        return Some(
            "--value-env was given something that is not a variable name (not shown: it may be a secret)".into(),
        );
    }
    None
}

/// Says that the variable `name` is not set.
fn unset_variable(name: &str, env: &[(String, Vec<u8>)]) -> String {
    let mut problem = format!("--value-env {name}: environment variable is not set");
    // Names are case-sensitive; a near miss is worth pointing at.
    if let Some((other, _)) = env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        problem.push_str(&format!(" ({other} is)"));
    }
    problem
}

/// A portable environment variable name: letters, digits and `_`, not
/// starting with a digit.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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

/// Match of a name against a glob with `*` (any run) and `?` (one
/// character), ignoring ASCII case: users write `*token*` for
/// `GITHUB_TOKEN` and `*TOKEN*` for npm's `npm_config__authToken`. Only
/// ASCII letters fold, so `?` is always exactly one character of the name.
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let pattern: Vec<char> = glob.chars().collect();
    let text: Vec<char> = name.chars().collect();
    // Iterative matcher with single-star backtracking: linear in practice,
    // never exponential.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len()
            && (pattern[p] == '?' || pattern[p].eq_ignore_ascii_case(&text[t]))
        {
            p += 1;
            t += 1;
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
            allow_missing: true,
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
    fn globs_ignore_ascii_case_only() {
        assert!(glob_matches("*token*", "GITHUB_TOKEN"));
        assert!(glob_matches("*TOKEN*", "npm_config__authToken"));
        assert!(glob_matches("*Api_Key*", "STRIPE_API_KEY_LIVE"));
        // `?` is one character of the name, also a non-ASCII one.
        assert!(glob_matches("CLÉ_?", "CLÉ_É"));
        assert!(!glob_matches("CLÉ_?", "CLé_x"));
        // The Kelvin sign lowercases to `k` but is not the letter K.
        assert!(!glob_matches("*_KEY", "AWS_\u{212A}EY"));
    }

    #[test]
    fn excluding_globs_win_over_including_ones() {
        let sources = ValueSources {
            env_globs: vec!["*TOKEN*,*AUTH*".into(), "!NPM_*, !*_AUTHOR".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let (values, _) = run(
            &sources,
            &[
                ("CI_JOB_TOKEN", "glcbt-64_aZ8xQ2wE9rT4yU7iO1pL"),
                ("NPM_TOKEN", "npm_Kq3Wz8Xv2Lr7Tn4Pm9Bc5Hd1Fs6Gj0Yu"),
                ("BASIC_AUTH", "deploy:Xk9vR2mPq7LwT4zN"),
                ("CI_COMMIT_AUTHOR", "Jane Doe <jane@example.com>"),
            ],
        );
        let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["BASIC_AUTH", "CI_JOB_TOKEN"]);
        // Only exclusions: nothing is read.
        let sources = ValueSources {
            env_globs: vec!["!PATH".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        assert!(run(&sources, &[("GH_TOKEN", "ghp_tokenvalue")])
            .0
            .is_empty());
    }

    /// A CI job's environment: GitHub Actions and GitLab variables, a
    /// Rails app on Passenger, a developer's agent socket.
    const CI_ENVIRONMENT: &[(&str, &str)] = &[
        (
            "ACTIONS_RUNTIME_TOKEN",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.runtime",
        ),
        ("CI_REGISTRY_PASSWORD", "glcbt-64_Rr4Tt6Yy8Uu0Ii2Oo4Pp"),
        ("DB_PASSWD", "Xk9vR2mPq7LwT4zN"),
        ("GPG_PASSPHRASE", "correct horse battery staple"),
        ("STRIPE_APIKEY", "rk_live_51HvQ2eLkdIwHu7ix"),
        ("SENDGRID_API_KEY_ID", "SG.kq3Wz8Xv2Lr7Tn4Pm9Bc5Hd"),
        ("OPENAI_API_KEY", "sk-proj-Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0"),
        (
            "DOCKER_AUTH_CONFIG",
            "{\"auths\":{\"registry.example.com\":{\"auth\":\"ZGVwbG95OnMzY3IzdA==\"}}}",
        ),
        ("NPM_CONFIG__AUTH", "ZGVwbG95OnMzY3IzdA=="),
        (
            "AWS_SECRET_ACCESS_KEY",
            "q8VdN2xLr7Tz/Pw4Kc9Hb3Jm6Fs1Gy5Qe0Ua8WiR",
        ),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/run/secrets/gcp-sa.json"),
        (
            "SSH_PRIVATE_KEY",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n",
        ),
        ("GIT_AUTHOR_NAME", "Jane Doe"),
        ("GIT_AUTHOR_EMAIL", "jane.doe@example.com"),
        ("CI_COMMIT_AUTHOR", "Jane Doe <jane.doe@example.com>"),
        ("CARGO_PKG_AUTHORS", "Jane Doe <jane.doe@example.com>"),
        (
            "HTTP_AUTHORIZATION",
            "Bearer eyJhbGciOiJIUzI1NiJ9.c2VydmljZQ.sig",
        ),
        ("PASSENGER_APP_ENV", "production"),
        ("SSH_AUTH_SOCK", "/tmp/ssh-XXXXq1w2e3/agent.4242"),
        ("XAUTHORITY", "/run/user/1000/gdm/Xauthority"),
        ("CI_PROJECT_PATH", "platform/payments-api"),
        ("HOME", "/home/runner"),
        ("NPM_CONFIG_ALWAYS_AUTH", "true"),
        ("SLACK_WEBHOOK_TOKEN", ""),
    ];

    #[test]
    fn default_globs_on_a_ci_environment() {
        let sources = ValueSources {
            env_globs: vec![crate::cli::DEFAULT_VALUE_ENV_GLOBS.into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let (values, warnings) = run(&sources, CI_ENVIRONMENT);
        let mut names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "ACTIONS_RUNTIME_TOKEN",
                "AWS_SECRET_ACCESS_KEY",
                "CI_REGISTRY_PASSWORD",
                "DB_PASSWD",
                "DOCKER_AUTH_CONFIG",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GPG_PASSPHRASE",
                "HTTP_AUTHORIZATION",
                "NPM_CONFIG__AUTH",
                "OPENAI_API_KEY",
                "SENDGRID_API_KEY_ID",
                "SSH_PRIVATE_KEY",
                "STRIPE_APIKEY",
            ]
        );
        // `true` matches `*AUTH*` but is too short to mask; the empty
        // token is not worth a warning.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("NPM_CONFIG_ALWAYS_AUTH"));
    }

    #[test]
    fn unset_value_env_is_an_error_naming_the_variable() {
        let sources = ValueSources {
            env_names: vec!["DEPLOY_TOKEN".into(), "REGISTRY_PASSWORD".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let env = env(&[("DEPLOY_TOKEN", "glpat-Zq8rT2mX9vL4Wn6Yp3Kd")]);
        let err = collect_from(&sources, env.clone(), &mut |_| {}).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("REGISTRY_PASSWORD"), "{msg}");
        assert!(msg.contains("--allow-missing-values"), "{msg}");
        assert!(!msg.contains("glpat-"), "{msg}");
        assert!(!msg.contains('\n'));

        let allowing = ValueSources {
            allow_missing: true,
            ..sources
        };
        let mut warnings = Vec::new();
        let values = collect_from(&allowing, env, &mut |w| warnings.push(w)).unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("REGISTRY_PASSWORD"));
    }

    #[test]
    fn unset_value_env_points_at_a_name_differing_in_case() {
        let sources = ValueSources {
            env_names: vec!["github_token".into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let env = env(&[("GITHUB_TOKEN", "ghp_Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0")]);
        let msg = format!(
            "{:#}",
            collect_from(&sources, env, &mut |_| {}).unwrap_err()
        );
        assert!(
            msg.contains("github_token") && msg.contains("(GITHUB_TOKEN is)"),
            "{msg}"
        );
        assert!(!msg.contains("ghp_"), "{msg}");
    }

    #[test]
    fn value_passed_instead_of_a_name_is_never_echoed() {
        let token = "ghp_Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0";
        // `--value-env "$GITHUB_TOKEN"`: the value of a variable that is set.
        let sources = ValueSources {
            env_names: vec![token.into()],
            min_length: 6,
            ..ValueSources::default()
        };
        let env = env(&[("GITHUB_TOKEN", token)]);
        let msg = format!(
            "{:#}",
            collect_from(&sources, env, &mut |_| {}).unwrap_err()
        );
        assert!(!msg.contains("Zq8rT2"), "{msg}");
        assert!(msg.contains("GITHUB_TOKEN"), "{msg}");
        // A value that is in no variable, but cannot be a name either.
        let password = "p@ss:W0rd-2024!";
        for allow_missing in [false, true] {
            let sources = ValueSources {
                env_names: vec![password.into()],
                min_length: 6,
                allow_missing,
                ..ValueSources::default()
            };
            // An error even when missing variables are allowed: nothing
            // would be masked.
            let err = collect_from(&sources, Vec::new(), &mut |_| {}).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("not a variable name"), "{text}");
            assert!(!text.contains("allow-missing"), "{text}");
            assert!(!text.contains("W0rd"), "{text}");
        }
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
