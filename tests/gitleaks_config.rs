//! gitleaks configs read as gitleaks reads them, end to end: RE2 regexes,
//! allowlists, path-only rules, `.gitleaksignore`, and whether the default
//! rules stay on.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn leakscrub() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gitleaks")
        .join(name)
}

struct Scan {
    code: i32,
    findings: Vec<serde_json::Value>,
    stderr: String,
}

impl Scan {
    /// `(path relative to the scanned folder, rule, line)`, sorted.
    fn places(&self, root: &Path) -> Vec<(String, String, u64)> {
        let root = root.to_string_lossy().to_string();
        let mut out: Vec<(String, String, u64)> = self
            .findings
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap_or_default();
                let rel = path
                    .strip_prefix(&root)
                    .unwrap_or(path)
                    .trim_start_matches('/');
                (
                    rel.to_string(),
                    f["rule"].as_str().unwrap_or_default().to_string(),
                    f["line"].as_u64().unwrap_or(u64::MAX),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .findings
            .iter()
            .map(|f| f["secret"].as_str().unwrap_or_default().to_string())
            .collect();
        out.sort();
        out
    }
}

/// The findings of a JSON report: `{"findings": [...]}` or a bare array.
fn findings_of(report: &[u8]) -> Vec<serde_json::Value> {
    if report.is_empty() {
        return vec![];
    }
    match serde_json::from_slice(report).unwrap() {
        serde_json::Value::Array(findings) => findings,
        serde_json::Value::Object(mut o) => match o.remove("findings") {
            Some(serde_json::Value::Array(findings)) => findings,
            other => panic!("no findings array in the report: {other:?}"),
        },
        other => panic!("not a JSON report: {other}"),
    }
}

fn scan(dir: &Path, args: &[&str]) -> Scan {
    let out = leakscrub()
        .args(["scan", "dir", "--format", "json", "--no-progress"])
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    Scan {
        code: out.status.code().unwrap_or(-1),
        findings: findings_of(&out.stdout),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `scan dir .` run from inside `dir`.
fn scan_inside(dir: &Path, config: &str) -> Scan {
    let out = leakscrub()
        .current_dir(dir)
        .args([
            "scan",
            "dir",
            "--format",
            "json",
            "--no-progress",
            "--config",
            config,
            ".",
        ])
        .output()
        .unwrap();
    Scan {
        code: out.status.code().unwrap_or(-1),
        findings: findings_of(&out.stdout),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, rel: &str, text: &[u8]) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// Copies a fixture folder into a fresh temporary folder.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(name), dir.path());
    dir
}

/// Each config uses one RE2 construct that Rust's regex syntax rejects or
/// reads differently; each input holds what its rule must find and what it
/// must not.
#[test]
fn re2_constructs_mean_what_they_mean_in_gitleaks() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "brace-literal.toml",
            "deploy/bootstrap.sh",
            "#!/bin/sh\n\
             # Seed the credentials file for local runs.\n\
             echo '{\"service_token\": \"svt_Q7wE9rT2yU4iO6pA8sD1fG3hJ5kL\"}' > /etc/app/credentials.json\n\
             echo '{\"service_token\": \"svt_Lk5Jh3Gf1Ds8Ap6Oi4Uy2Tr9Ew7Q\"}' > ci.json  # CI writes ${{ secrets.SERVICE_TOKEN }} here\n",
            &["svt_Q7wE9rT2yU4iO6pA8sD1fG3hJ5kL"],
        ),
        (
            "end-of-text.toml",
            "config/mailer.yaml",
            "mailer:\n  \
               mailer_key: mk_Zx8Cv7Bn6Mq5Wr4Et3Yu2Io1\n  \
               docs_mailer_key: mk_Tg5Hb7Nj9Mk2Lp4QzREVOKED\n  \
               mailer-key: 'mk_Rf6REVOKEDVb8Nm1Qa3Ws5Ed'\n",
            &["mk_Rf6REVOKEDVb8Nm1Qa3Ws5Ed", "mk_Zx8Cv7Bn6Mq5Wr4Et3Yu2Io1"],
        ),
        (
            "class-bracket.toml",
            "worker/settings.py",
            "BROKER = 'amqps://mq.internal:5671'\n\
             queue_passwords = [\"Hn4Kd8Ls2Qw6Zr1Tx5Vb\", 'Pm3Jc7Fg9Ey2Ua6Io4Wk']\n\
             queue_passwords = ('Rt5Yu7Io9Pa2Sd4Fg6Hj',)\n",
            &["Hn4Kd8Ls2Qw6Zr1Tx5Vb", "Rt5Yu7Io9Pa2Sd4Fg6Hj"],
        ),
        (
            "class-set-operators.toml",
            "worker/celeryconfig.py",
            "broker_url = \"amqps://worker:Ab12&&Cd34~~Ef56Gh78@mq.internal:5671/prod\"\n\
             result_backend = \"rpc://\"\n",
            &["Ab12&&Cd34~~Ef56Gh78"],
        ),
        (
            "escaped-angle-brackets.toml",
            "config/license.xml",
            "<?xml version=\"1.0\"?>\n<settings>\n  \
               <licenseKey>7KQ2M-XW9PL-3VN8R-T5CHJ-D4FGB</licenseKey>\n  \
               <seats>25</seats>\n</settings>\n",
            &["7KQ2M-XW9PL-3VN8R-T5CHJ-D4FGB"],
        ),
        (
            "quoted-literal.toml",
            "scripts/notify.sh",
            "#!/bin/sh\ncurl -s -X POST -d \"{\\\"text\\\": \\\"$1\\\"}\" \\\n  \
               https://hooks.chat.example.com/services/T4K8M2Q9Z/B7X3N5P1L6W/Qw8Er7Ty6Ui5Op4As3Df2Gh1\n\
             curl -s https://hooksxchatxexamplexcom/services/T4K8M2Q9Z/B7X3N5P1L6W/Zx8Cv7Bn6Mq5Wr4Et3Yu2Io1\n",
            &["T4K8M2Q9Z/B7X3N5P1L6W/Qw8Er7Ty6Ui5Op4As3Df2Gh1"],
        ),
        (
            "octal-escapes.toml",
            "ci/netrc",
            "machine registry.internal login ci-bot password Xk9vR2mPq7LwT4zN\n\
             machine\tgit.internal\tlogin\tdeploy\tpassword\tWq3eR5tY7uI9oP1a\n\
             machine_type = registry login_hint = ci password_rule = strict\n",
            &["Wq3eR5tY7uI9oP1a", "Xk9vR2mPq7LwT4zN"],
        ),
    ];
    for (config, file, text, expected) in cases {
        let config = fixture("re2").join(config);
        let check = leakscrub()
            .args(["rules", "check"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(
            check.status.code(),
            Some(0),
            "{}: {}",
            config.display(),
            String::from_utf8_lossy(&check.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), file, text.as_bytes());
        let c = config.to_string_lossy().to_string();
        let s = scan(dir.path(), &["--config", &c, "--reveal"]);
        assert_eq!(s.code, 1, "{}: {}", config.display(), s.stderr);
        assert_eq!(s.secrets(), *expected, "{}", config.display());
    }
}

#[test]
fn a_construct_that_cannot_be_translated_is_one_error_naming_rule_and_position() {
    let config = fixture("re2/lookahead.toml").to_string_lossy().to_string();
    let dir = fixture("re2").to_string_lossy().to_string();
    for args in [
        vec!["rules", "check", &config],
        vec!["scan", "dir", "--config", &config, &dir],
    ] {
        let out = leakscrub().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("lookahead.toml"), "{stderr}");
        assert!(
            stderr.contains("rule \"vault-unseal-key\": regex at position 18"),
            "{stderr}"
        );
        assert!(stderr.contains("look-around"), "{stderr}");
    }
}

fn places(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = list
        .iter()
        .map(|(p, r, l)| (p.to_string(), r.to_string(), *l))
        .collect();
    out.sort();
    out
}

/// What the services repository holds that its allowlists let through.
const SERVICES_FINDINGS: &[(&str, &str, u64)] = &[
    ("billing/settings.py", "internal-deploy-token", 5),
    ("billing/settings.py", "billing-api-key", 6),
    // A test token outside test fixtures: only one AND criterion holds.
    ("billing/settings.py", "internal-deploy-token", 8),
    // A real-looking token inside test fixtures: likewise.
    (
        "billing/tests/fixtures/settings_test.py",
        "internal-deploy-token",
        4,
    ),
    ("deploy/prod.env", "internal-deploy-token", 2),
    ("deploy/prod.env", "billing-api-key", 5),
];

#[test]
fn allowlists_keep_their_condition_target_stopwords_and_scope() {
    let repo = copy_fixture("services-repo");
    let config = fixture("allowlists.toml").to_string_lossy().to_string();
    let s = scan(repo.path(), &["--config", &config]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert_eq!(s.places(repo.path()), places(SERVICES_FINDINGS));
}

#[test]
fn path_only_rules_report_the_file_with_no_secret_at_line_zero() {
    let dir = tempfile::tempdir().unwrap();
    // DER-encoded keystores are binary; they are flagged all the same.
    let der = b"\x30\x82\x0a\x3c\x02\x01\x03\x30\x82\x09\xf6\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\xa0\x00";
    write(dir.path(), "certs/client.p12", der);
    write(dir.path(), "certs/signing.PFX", der);
    write(dir.path(), "testdata/dummy.p12", der);
    write(
        dir.path(),
        "certs/README.md",
        b"# Certificates\n\nclient.p12 is issued by the internal CA; ask #platform for a copy.\n",
    );
    write(
        dir.path(),
        "config/app.properties",
        b"server.port=8443\nkeystore_path=certs/client.p12\nkeystore_password=Vb8Nm1Qa3Ws5Ed7R\n",
    );
    let config = fixture("keystores.toml").to_string_lossy().to_string();
    let s = scan(dir.path(), &["--config", &config]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert_eq!(
        s.places(dir.path()),
        places(&[
            ("certs/client.p12", "pkcs12-keystore", 0),
            ("certs/signing.PFX", "pkcs12-keystore", 0),
            ("config/app.properties", "keystore-password", 3),
        ])
    );
    for f in s.findings.iter().filter(|f| f["rule"] == "pkcs12-keystore") {
        assert_eq!(f["column"], 0);
        assert_eq!(f["secret"], "");
        let path = f["path"].as_str().unwrap();
        assert_eq!(f["match"], format!("file detected: {path}"));
    }
    let revealed = scan(dir.path(), &["--config", &config, "--reveal"]);
    for f in revealed
        .findings
        .iter()
        .filter(|f| f["rule"] == "pkcs12-keystore")
    {
        assert_eq!(f["secret"], "");
    }
}

#[test]
fn gitleaksignore_and_leakscrubignore_suppress_findings_in_the_scanned_folder() {
    let repo = copy_fixture("services-repo");
    let config = fixture("allowlists.toml").to_string_lossy().to_string();
    // leakscrub's own fingerprint of one finding, as each way of running
    // the scan computes it.
    let fingerprint_of = |s: &Scan, path: &str, line: u64| -> String {
        s.findings
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(path) && f["line"] == line)
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .unwrap()
    };
    let fixture_token = "billing/tests/fixtures/settings_test.py";
    let outside_fp = fingerprint_of(&scan(repo.path(), &["--config", &config]), fixture_token, 4);
    let inside_fp = fingerprint_of(&scan_inside(repo.path(), &config), fixture_token, 4);
    write(
        repo.path(),
        ".gitleaksignore",
        b"# Reviewed 2026-02: rotated\n\
          billing/settings.py:billing-api-key:6\n\
          deploy\\prod.env:internal-deploy-token:2\n\
          \n\
          # Only in that commit: a folder scan has no commits\n\
          3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e:billing/settings.py:internal-deploy-token:5\n\
          # Another line than the finding's\n\
          deploy/prod.env:billing-api-key:4\n",
    );
    write(
        repo.path(),
        ".leakscrubignore",
        format!(
            "# Fixture token, accepted\n{outside_fp}  # see SEC-2211\n\
             deploy/prod.env billing-api-key 5\n\
             billing/settings.py:internal-deploy-token:8\n\
             {inside_fp}\n"
        )
        .as_bytes(),
    );
    let expected: Vec<(&str, &str, u64)> = SERVICES_FINDINGS
        .iter()
        .copied()
        .filter(|(p, _, l)| {
            !matches!(
                (*p, *l),
                ("billing/settings.py", 6)
                    | ("deploy/prod.env", 2)
                    | ("billing/tests/fixtures/settings_test.py", 4)
                    | ("billing/settings.py", 8)
            )
        })
        .collect();
    // From another folder (paths include the scanned folder) and from the
    // folder itself (`.`): the same findings are suppressed.
    let from_outside = scan(repo.path(), &["--config", &config]);
    let from_inside = scan_inside(repo.path(), &config);
    for s in [&from_outside, &from_inside] {
        assert_eq!(s.code, 1, "{}", s.stderr);
        let root = if std::ptr::eq(s, &from_inside) {
            Path::new(".")
        } else {
            repo.path()
        };
        assert_eq!(s.places(root), places(&expected), "{}", s.stderr);
        assert!(s.stderr.contains("4 suppressed"), "{}", s.stderr);
        // The line that is not a fingerprint: one warning, with its place.
        let warnings: Vec<&str> = s
            .stderr
            .lines()
            .filter(|l| l.contains("not a fingerprint"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", s.stderr);
        assert!(warnings[0].contains(".leakscrubignore:3:"), "{}", s.stderr);
    }
    let quiet = scan(repo.path(), &["--config", &config, "--quiet"]);
    assert_eq!(quiet.code, 1);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

/// A GitHub classic PAT with a valid CRC32 checksum (synthetic): a default rule finds it.
const GITHUB_TOKEN: &str = "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";
const WEBHOOK_SECRET: &str = "pwh_Zk4Qm8Xr2Lp6Vn9Tb3Hc7Jw5Fd1Sg0Ay";

fn payments_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy/release.env",
        format!(
            "RELEASE_CHANNEL=stable\nGITHUB_TOKEN={GITHUB_TOKEN}\nPAYMENTS_WEBHOOK_SECRET={WEBHOOK_SECRET}\n"
        )
        .as_bytes(),
    );
    dir
}

fn rule_ids(s: &Scan) -> Vec<String> {
    let mut ids: Vec<String> = s
        .findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn rules_listed(config: Option<&Path>) -> (usize, String) {
    let mut cmd = leakscrub();
    cmd.args(["rules", "list", "--format", "json"]);
    if let Some(c) = config {
        cmd.arg(c);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    (
        rows.len(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_gitleaks_config_without_use_default_replaces_the_defaults_in_scan_and_rules_list() {
    let repo = payments_repo();
    let replaces = fixture("replaces-defaults.toml");
    let extends = fixture("extends-defaults.toml");
    let (defaults, quiet_defaults) = rules_listed(None);
    assert!(quiet_defaults.is_empty(), "{quiet_defaults}");

    let s = scan(repo.path(), &["--config", replaces.to_str().unwrap()]);
    assert_eq!(rule_ids(&s), vec!["payments-webhook-secret"]);
    let notices: Vec<&str> = s.stderr.lines().filter(|l| l.contains("notice")).collect();
    assert_eq!(notices.len(), 1, "{}", s.stderr);
    assert!(notices[0].contains("replaces-defaults.toml replaces the default rules"));
    assert!(notices[0].ends_with("; 1 rule active"), "{}", notices[0]);
    let (listed, stderr) = rules_listed(Some(&replaces));
    assert_eq!(listed, 1);
    assert_eq!(stderr.trim_end(), notices[0]);

    let quiet = scan(repo.path(), &["--config", replaces.to_str().unwrap(), "-q"]);
    assert_eq!(quiet.code, 1);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);

    let s = scan(repo.path(), &["--config", extends.to_str().unwrap()]);
    let ids = rule_ids(&s);
    assert!(ids.contains(&"github-pat".to_string()), "{ids:?}");
    assert!(s.findings.iter().any(|f| f["line"] == 3), "{ids:?}");
    assert!(!s.stderr.contains("notice"), "{}", s.stderr);
    let (listed, stderr) = rules_listed(Some(&extends));
    assert_eq!(listed, defaults + 1);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn an_auto_discovered_gitleaks_toml_is_read_the_same_way() {
    let repo = payments_repo();
    fs::copy(
        fixture("replaces-defaults.toml"),
        repo.path().join(".gitleaks.toml"),
    )
    .unwrap();
    let s = scan(repo.path(), &[]);
    assert_eq!(rule_ids(&s), vec!["payments-webhook-secret"]);
    assert!(
        s.stderr
            .contains(".gitleaks.toml replaces the default rules"),
        "{}",
        s.stderr
    );
}

#[test]
fn a_generic_rule_yields_to_a_specific_one_on_the_same_secret() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "relay/settings.env",
        b"RELAY_API_TOKEN=rly_Q7wE9rT2yU4iO6pA8sD1fG3hJ5kLzX\n\
          RELAY_SIGNING_SECRET=Vb8Nm1Qa3Ws5Ed7Rf9Tg2Yh4\n",
    );
    let config = fixture("generic-and-specific.toml")
        .to_string_lossy()
        .to_string();
    let s = scan(dir.path(), &["--config", &config]);
    assert_eq!(
        s.places(dir.path()),
        places(&[
            ("relay/settings.env", "relay-api-token", 1),
            ("relay/settings.env", "generic-api-key", 2),
        ]),
        "{}",
        s.stderr
    );
}
