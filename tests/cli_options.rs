//! Command-line options end to end: known values from the environment and
//! the bounds of numeric options, with the real binary.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use leakscrub::engine::checksum::make_github_style_token;

/// The binary with an empty environment (plus PATH), so the default
/// `--values-from-env` globs see only what a test sets.
fn leakscrub() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    c
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn outcome(cmd: &mut Command) -> Outcome {
    let out = cmd.output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A usage error: exit 2, nothing on stdout, one line on stderr that
/// contains every one of `mentions`.
fn assert_usage_error(o: &Outcome, mentions: &[&str]) {
    assert_eq!(o.code, 2, "stderr: {}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    for m in mentions {
        assert!(o.stderr.contains(m), "{m:?} not in {}", o.stderr);
    }
}

// Known values from the environment.

const DEPLOY_LOG: &str = "\
+ docker login -u ci -p hv8Kq2Lm9Tx4Wp7Rz3Nc registry.example.com
Login Succeeded
+ gpg --batch --passphrase 'violet-anchor-lantern-42' --decrypt release.key.gpg
+ curl -H 'Authorization: Basic ZGVwbG95OnM0bmR5LWJlYWNo' https://artifacts.example.com/upload
+ stripe-cli --api-key rk_live_51Hv9QeLkdIwHu7ixPz2 payouts list
Author: Jane Doe <jane.doe@example.com>
environment: production
";

#[test]
fn unset_value_env_stops_redact_before_reading() {
    let o = outcome(
        leakscrub()
            .args(["redact", "--value-env", "REGISTRY_PASSWORD"])
            .write_stdin(DEPLOY_LOG),
    );
    assert_usage_error(&o, &["REGISTRY_PASSWORD", "--allow-missing-values"]);
}

#[test]
fn unset_value_env_stops_run_before_the_command_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("deploy-ran");
    let o = outcome(
        leakscrub()
            .env("DEPLOY_TOKEN", "glpat-Zq8rT2mX9vL4Wn6Yp3Kd")
            .args(["run", "--value-env", "DEPLOY_TOKEN"])
            .args(["--value-env", "REGISTRY_PASSWORD", "--", "sh", "-c"])
            .arg(format!("echo ran > '{}'", marker.display())),
    );
    assert_usage_error(&o, &["REGISTRY_PASSWORD"]);
    assert!(!o.stderr.contains("glpat-"), "{}", o.stderr);
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn allow_missing_values_warns_and_goes_on() {
    let o = outcome(
        leakscrub()
            .env("REGISTRY_PASSWORD", "hv8Kq2Lm9Tx4Wp7Rz3Nc")
            .args(["redact", "--values-from-env", ""])
            .args([
                "--value-env",
                "REGISTRY_PASSWORD",
                "--value-env",
                "GPG_KEY_PASS",
            ])
            .arg("--allow-missing-values")
            .write_stdin(DEPLOY_LOG),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("+ docker login -u ci -p *** registry"));
    assert!(o.stdout.contains("'violet-anchor-lantern-42'"));
    assert!(o.stderr.contains("GPG_KEY_PASS"), "{}", o.stderr);
    assert!(o.stderr.starts_with("leakscrub: warning:"), "{}", o.stderr);
}

#[test]
fn value_given_instead_of_a_name_is_not_echoed() {
    let token = make_github_style_token("ghp_", "Hq4Wz8Xv2Lr7Tn4Pm9Bc5Hd1Fs6Gj0");
    // `--value-env "$GITHUB_TOKEN"` instead of `--value-env GITHUB_TOKEN`.
    let o = outcome(
        leakscrub()
            .env("GITHUB_TOKEN", &token)
            .args(["redact", "--value-env", &token])
            .write_stdin("fetching with the token\n"),
    );
    assert_usage_error(&o, &["GITHUB_TOKEN"]);
    assert!(!o.stderr.contains(&token[4..12]), "{}", o.stderr);
}

#[test]
fn default_globs_mask_passwords_keys_and_auth_but_not_authors() {
    let o = outcome(
        leakscrub()
            .env("CI_REGISTRY_PASS", "hv8Kq2Lm9Tx4Wp7Rz3Nc")
            .env("GPG_PASSPHRASE", "violet-anchor-lantern-42")
            .env("BASIC_AUTH", "ZGVwbG95OnM0bmR5LWJlYWNo")
            .env("STRIPE_APIKEY", "rk_live_51Hv9QeLkdIwHu7ixPz2")
            .env("GIT_AUTHOR_NAME", "Jane Doe")
            .env("GIT_AUTHOR_EMAIL", "jane.doe@example.com")
            .env("CI_COMMIT_AUTHOR", "Jane Doe <jane.doe@example.com>")
            .env("PASSENGER_APP_ENV", "production")
            // An undefined CI secret: nothing to mask, nothing to say.
            .env("NPM_TOKEN", "")
            .args(["redact", "--rules", "none"])
            .write_stdin(DEPLOY_LOG),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        "\
+ docker login -u ci -p *** registry.example.com
Login Succeeded
+ gpg --batch --passphrase '***' --decrypt release.key.gpg
+ curl -H 'Authorization: Basic ***' https://artifacts.example.com/upload
+ stripe-cli --api-key *** payouts list
Author: Jane Doe <jane.doe@example.com>
environment: production
"
    );
}

#[test]
fn user_globs_ignore_case_and_take_exclusions() {
    let o = outcome(
        leakscrub()
            .env("CI_REGISTRY_PASS", "hv8Kq2Lm9Tx4Wp7Rz3Nc")
            .env("gpg_passphrase", "violet-anchor-lantern-42")
            .args(["redact", "--rules", "none"])
            .args(["--values-from-env", "*Pass*,!CI_REGISTRY_*"])
            .write_stdin(DEPLOY_LOG),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("-p hv8Kq2Lm9Tx4Wp7Rz3Nc registry"));
    assert!(o.stdout.contains("--passphrase '***'"));
}

// Numeric options.

/// A service repository: a small config, and a large generated fixture
/// file with a token near its end.
fn repository_with_a_large_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = make_github_style_token("ghp_", "Mn3Bv7Cx1Zl5Kj9Hg2Fd6Sa4Qw8Er0");
    fs::create_dir_all(root.join("config")).unwrap();
    fs::create_dir_all(root.join("testdata")).unwrap();
    fs::write(
        root.join("config/app.yaml"),
        "server:\n  port: 8080\n  log_level: info\ncache:\n  ttl_seconds: 300\n",
    )
    .unwrap();
    let mut big = String::from("[\n");
    for i in 0..4000 {
        big.push_str(&format!(
            "  {{\"id\": {i}, \"sku\": \"SKU-{i:06}\", \"name\": \"catalogue item {i}\", \"price_cents\": {}}},\n",
            i * 37 % 10000
        ));
    }
    big.push_str(&format!(
        "  {{\"id\": -1, \"sync_token\": \"{token}\"}}\n]\n"
    ));
    assert!(big.len() > 200 << 10);
    fs::write(root.join("testdata/catalogue.json"), big).unwrap();
    (dir, token)
}

fn scan_dir(root: &Path, extra: &[&str]) -> Outcome {
    outcome(
        leakscrub()
            .args(["scan", "dir", "--no-progress", "--format", "jsonl"])
            .args(extra)
            .arg(root),
    )
}

#[test]
fn max_file_size_zero_means_no_limit() {
    let (dir, token) = repository_with_a_large_file();
    let limited = scan_dir(dir.path(), &["--max-file-size", "100KB"]);
    assert_eq!(limited.code, 0, "{}", limited.stderr);
    assert_eq!(limited.stdout, "");
    let unlimited = scan_dir(dir.path(), &["--max-file-size", "0"]);
    assert_eq!(unlimited.code, 1, "{}", unlimited.stderr);
    assert!(unlimited.stdout.contains("catalogue.json"));
    assert!(!unlimited.stdout.contains(&token));
}

#[test]
fn max_file_size_that_is_not_a_size_is_refused() {
    let (dir, _) = repository_with_a_large_file();
    for (bad, why) in [
        ("-5MB", "negative"),
        ("NaN", "number"),
        ("1e400", "unit"),
        ("99999999999GB", "too large"),
        ("18446744073709551616", "too large"),
    ] {
        let o = scan_dir(dir.path(), &["--max-file-size", bad]);
        assert_usage_error(&o, &["--max-file-size", why]);
    }
}

#[test]
fn threads_out_of_range_are_refused_and_the_bounds_work() {
    let (dir, _) = repository_with_a_large_file();
    for bad in ["0", "1025", "-2", "many"] {
        let o = scan_dir(dir.path(), &["--threads", bad]);
        assert_usage_error(&o, &["--threads", "1 to 1024"]);
    }
    for good in ["1", "4"] {
        let o = scan_dir(dir.path(), &["--threads", good]);
        assert_eq!(o.code, 1, "--threads {good}: {}", o.stderr);
    }
    // The upper bound is accepted and runs a real scan: the walk and the
    // chunk workers take what they can use of it (a thousand idle walker
    // threads once took half a minute over one small folder).
    let o = outcome(
        leakscrub()
            .timeout(Duration::from_secs(15))
            .current_dir(dir.path())
            .args(["scan", "dir", ".", "--no-progress", "--threads", "1024"]),
    );
    assert_eq!(o.code, 1, "--threads 1024: {}", o.stderr);
    let o = outcome(
        leakscrub()
            .timeout(Duration::from_secs(15))
            .args(["scan", "log", "-", "--no-progress", "--threads", "1024"])
            .write_stdin("build ok\n"),
    );
    assert_eq!(o.code, 0, "scan log --threads 1024: {}", o.stderr);
}

#[test]
fn exit_code_out_of_range_is_refused_and_the_bounds_work() {
    let (dir, _) = repository_with_a_large_file();
    for bad in ["256", "-1", "1.5"] {
        let o = scan_dir(dir.path(), &["--exit-code", bad]);
        assert_usage_error(&o, &["--exit-code", "0 to 255"]);
    }
    for good in [0, 42, 255] {
        let o = scan_dir(dir.path(), &["--exit-code", &good.to_string()]);
        assert_eq!(o.code, good, "{}", o.stderr);
    }
}

#[test]
fn min_length_out_of_range_is_refused() {
    for bad in ["0", "1025", "-6"] {
        let o = outcome(
            leakscrub()
                .args(["redact", "--min-length", bad])
                .write_stdin(DEPLOY_LOG),
        );
        assert_usage_error(&o, &["--min-length", "1 to 1024"]);
    }
    let o = outcome(
        leakscrub()
            .env("DEPLOY_KEY", "k3y")
            .args(["redact", "--min-length", "1"])
            .write_stdin("signed with k3y\n"),
    );
    assert_eq!(o.stdout, "signed with ***\n");
}

#[test]
fn flush_delay_out_of_range_is_refused_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for bad in ["60001", "18446744073709551615", "-1"] {
        // A prompt without a newline waits for the flush delay.
        let o = outcome(
            leakscrub()
                .args(["redact", "--flush-ms", bad])
                .write_stdin("Password: "),
        );
        assert_usage_error(&o, &["--flush-ms", "0 to 60000"]);
        let o = outcome(
            leakscrub()
                .args(["run", "--flush-ms", bad, "--", "sh", "-c"])
                .arg(format!("printf 'Password: '; touch '{}'", marker.display())),
        );
        assert_usage_error(&o, &["--flush-ms"]);
        assert!(!marker.exists());
    }
    let o = outcome(
        leakscrub()
            .args(["redact", "--flush-ms", "0"])
            .write_stdin("Password: "),
    );
    assert_eq!((o.code, o.stdout.as_str()), (0, "Password: "));
}

// How command-line mistakes are reported.

#[test]
fn usage_errors_are_one_line_but_a_bare_command_group_lists_its_commands() {
    let o = outcome(leakscrub().args(["scan", "dir", "--no-such-option", "."]));
    assert_usage_error(&o, &["--no-such-option"]);
    assert!(o.stderr.starts_with("leakscrub: "), "{}", o.stderr);
    let o = outcome(leakscrub().args(["scan"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("Usage:"), "{}", o.stderr);
    assert!(o.stderr.contains("dir"), "{}", o.stderr);
    let o = outcome(leakscrub().args(["scan", "dir", "--help"]));
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("--max-file-size"));
}
