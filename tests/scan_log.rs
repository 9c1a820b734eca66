//! `leakscrub scan log`: saved build logs, standard input and GitHub
//! Actions log archives, through the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A GitHub classic token with a valid checksum, planted in the fixtures.
const TOKEN: &str = "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";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

fn leakscrub() -> Command {
    let mut cmd = Command::cargo_bin("leakscrub").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `scan log ARGS -f json` and returns (exit code, findings, stderr).
fn scan_json(args: &[&str], stdin: Option<Vec<u8>>) -> (i32, Vec<Value>, String) {
    let mut cmd = leakscrub();
    cmd.args(["scan", "log", "-f", "json", "--reveal"])
        .args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let findings = report.as_array().cloned().unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn position(f: &Value) -> (String, u64, u64) {
    (
        f["path"].as_str().unwrap().to_string(),
        f["line"].as_u64().unwrap(),
        f["column"].as_u64().unwrap(),
    )
}

/// 1-based (line, column) of the first occurrence of `needle` in `hay`.
fn raw_position(hay: &[u8], needle: &[u8]) -> (u64, u64) {
    let at = hay
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in file");
    let before = &hay[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, (at - line_start) as u64 + 1)
}

#[test]
fn github_actions_log_reports_original_line_and_column() {
    let path = fixture("github-actions.log");
    let shown = path.to_str().unwrap();
    let (code, findings, _) = scan_json(&[shown], None);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f["rule"], "github-pat");
    assert_eq!(f["secret"], TOKEN);
    // Line 5, after a 29-byte timestamp, two colour codes and the text.
    assert_eq!(position(f), (shown.to_string(), 5, 64));
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(raw_position(&raw, TOKEN.as_bytes()), (5, 64));
    assert_eq!(f["end_line"], 5);
    assert_eq!(f["end_column"], 64 + TOKEN.len() as u64);
    // The excerpt is the normalised text, without escapes or timestamp.
    let excerpt = f["match"].as_str().unwrap();
    assert!(
        excerpt.starts_with("warning: using token ghp_"),
        "{excerpt}"
    );
}

#[test]
fn gitlab_log_with_sections_and_stream_markers() {
    let path = fixture("gitlab.log");
    let (code, findings, _) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["line"], 5);
    assert_eq!(findings[0]["column"], 44);
    let excerpt = findings[0]["match"].as_str().unwrap();
    assert!(excerpt.starts_with("export GH=ghp_"), "{excerpt}");
}

#[test]
fn secret_split_by_a_colour_code_is_found() {
    let path = fixture("split-ansi.log");
    let raw = std::fs::read(&path).unwrap();
    assert!(!raw.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    let (code, findings, _) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["secret"], TOKEN);
    assert_eq!(
        (findings[0]["line"].as_u64(), findings[0]["column"].as_u64()),
        (Some(2), Some(26))
    );
    assert_eq!(raw_position(&raw, b"ghp_R4nd0m"), (2, 26));
}

#[test]
fn secret_overwritten_by_a_progress_line_is_found() {
    let path = fixture("progress-overwrite.log");
    let (code, findings, _) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["column"], 30);
}

#[test]
fn clean_log_exits_zero() {
    let path = fixture("clean.log");
    let (code, findings, _) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(findings.is_empty());
}

#[test]
fn standard_input_via_dash_and_by_default() {
    let log = std::fs::read(fixture("github-actions.log")).unwrap();
    let (code, findings, _) = scan_json(&["-"], Some(log.clone()));
    assert_eq!(code, 1);
    assert_eq!(position(&findings[0]), ("stdin".to_string(), 5, 64));
    let (code, findings, _) = scan_json(&[], Some(log));
    assert_eq!(code, 1);
    assert_eq!(findings[0]["path"], "stdin");
}

#[test]
fn masked_by_default_in_text_output() {
    let out = leakscrub()
        .args(["scan", "log"])
        .arg(fixture("split-ansi.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(":2:26"), "{stdout}");
    assert!(!stdout.contains(TOKEN));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(TOKEN));
}

/// A log archive laid out as GitHub Actions serves it.
fn build_archive(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn write_temp(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

#[test]
fn github_actions_log_archive() {
    let dir = tempfile::tempdir().unwrap();
    let archive = build_archive(&[
        (
            "1_Set up job.txt",
            std::fs::read(fixture("clean.log")).unwrap(),
        ),
        (
            "build/3_Build.txt",
            std::fs::read(fixture("github-actions.log")).unwrap(),
        ),
        (
            "4_Deploy.txt",
            std::fs::read(fixture("gitlab.log")).unwrap(),
        ),
    ]);
    // Named without .zip: the archive is recognised by its content.
    let path = write_temp(dir.path(), "logs_42", &archive);
    let shown = path.to_str().unwrap();
    let (code, findings, stderr) = scan_json(&[shown], None);
    assert_eq!(code, 1, "{stderr}");
    let positions: Vec<_> = findings.iter().map(position).collect();
    assert_eq!(
        positions,
        [
            (format!("{shown}!4_Deploy.txt"), 5, 44),
            (format!("{shown}!build/3_Build.txt"), 5, 64),
        ]
    );
    // The archive and its three logs, as `scan dir` counts them.
    assert!(stderr.contains("scanned 4 files"), "{stderr}");

    // The same archive on standard input.
    let (code, findings, _) = scan_json(&["-"], Some(archive));
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[1]["path"], "stdin!build/3_Build.txt");
}

#[test]
fn truncated_archive_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let archive = build_archive(&[(
        "1_Build.txt",
        std::fs::read(fixture("github-actions.log")).unwrap(),
    )]);
    let path = write_temp(dir.path(), "cut.zip", &archive[..archive.len() / 2]);
    let out = leakscrub()
        .args(["scan", "log"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("cut.zip:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("corrupt zip archive"), "{stderr}");
}

#[test]
fn oversized_member_is_bounded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = vec![b'a'; 3 << 20];
    big.extend_from_slice(format!("\nlate {TOKEN}\n").as_bytes());
    let archive = build_archive(&[
        ("1_Bomb.txt", big),
        (
            "2_Build.txt",
            std::fs::read(fixture("github-actions.log")).unwrap(),
        ),
    ]);
    assert!(archive.len() < 100_000, "compresses like a bomb");
    let path = write_temp(dir.path(), "bomb.zip", &archive);
    let (code, findings, stderr) =
        scan_json(&[path.to_str().unwrap(), "--max-member-size", "1MB"], None);
    assert_eq!(code, 1, "{stderr}");
    // The small member is still scanned; the large one is refused.
    assert_eq!(findings.len(), 1);
    assert!(findings[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("!2_Build.txt"));
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("1_Bomb.txt") && l.contains("1048576")),
        "{stderr}"
    );

    let (_, findings, stderr) =
        scan_json(&[path.to_str().unwrap(), "--max-archive-size", "1MB"], None);
    assert!(findings.is_empty(), "{findings:?}");
    assert!(stderr.contains("size limit"), "{stderr}");
}

#[test]
fn hostile_member_paths_are_only_labels() {
    // A member's name is never used to write anything: `../escape.txt`
    // and `/etc/cron.d/x` are scanned like any other member.
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let log = std::fs::read(fixture("github-actions.log")).unwrap();
    let archive = build_archive(&[
        ("../escape.txt", log.clone()),
        ("/etc/cron.d/x", log.clone()),
        ("ok/1_Build.txt", log),
    ]);
    let path = write_temp(&work, "hostile.zip", &archive);
    let (code, findings, stderr) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 1, "{stderr}");
    let mut members: Vec<&str> = findings
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit_once('!').unwrap().1)
        .collect();
    members.sort();
    assert_eq!(
        members,
        ["../escape.txt", "/etc/cron.d/x", "ok/1_Build.txt"]
    );
    assert!(!stderr.contains("unsafe"), "{stderr}");
    assert!(!dir.path().join("escape.txt").exists());
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["work"]);
}

#[test]
fn missing_file_is_one_line_naming_it_and_others_are_scanned() {
    let out = leakscrub()
        .args(["scan", "log", "no/such/build.log"])
        .arg(fixture("clean.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("no/such/build.log"))
        .collect();
    assert_eq!(
        errors,
        ["leakscrub: no/such/build.log: no such file or directory"]
    );
    assert!(stderr.contains("scanned 1 file"), "{stderr}");
}

#[test]
fn large_log_positions_survive_chunking() {
    // Larger than one chunk: positions after the first chunk still map back.
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    let line =
        b"2026-01-02T03:04:05.1234567Z \x1b[32m   Compiling\x1b[0m crate-with-a-long-name v1.2.3\n";
    let mut n = 0u64;
    while log.len() < 9 << 20 {
        log.extend_from_slice(line);
        n += 1;
    }
    log.extend_from_slice(
        format!("2026-01-02T03:04:05.1234567Z \x1b[1mkey\x1b[0m={TOKEN}\n").as_bytes(),
    );
    let path = write_temp(dir.path(), "big.log", &log);
    let (code, findings, _) = scan_json(&[path.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["line"], n + 1);
    assert_eq!(
        findings[0]["column"],
        raw_position(&log, TOKEN.as_bytes()).1
    );
}

/// Runs the binary through bash, for process substitution: `$0` is the
/// binary, `$1`... the arguments given.
fn through_bash(script: &str, args: &[&Path]) -> (i32, Vec<Value>, String) {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(assert_cmd::cargo::cargo_bin("leakscrub"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn process_substitution_and_dev_stdin_are_read_without_seeking() {
    let log = fixture("github-actions.log");
    let (code, direct, _) = scan_json(&[log.to_str().unwrap()], None);
    assert_eq!(code, 1);
    let (code, findings, stderr) = through_bash(
        r#""$0" scan log -f json --reveal --no-progress <(cat "$1")"#,
        &[&log],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), direct.len());
    let f = &findings[0];
    assert!(f["path"].as_str().unwrap().starts_with("/dev/fd/"), "{f}");
    assert_eq!(
        (&f["line"], &f["column"]),
        (&direct[0]["line"], &direct[0]["column"])
    );
    assert_eq!(f["secret"], TOKEN);

    // `/dev/stdin` when standard input is a pipe.
    let (code, findings, stderr) = scan_json(&["/dev/stdin"], Some(std::fs::read(&log).unwrap()));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings[0]["path"], "/dev/stdin");
    assert_eq!(findings[0]["line"], direct[0]["line"]);
}

#[cfg(unix)]
#[test]
fn a_log_archive_through_a_pipe_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let archive = build_archive(&[
        (
            "build/2_Set up job.txt",
            b"2026-01-02T03:04:05.0000000Z Current runner version: '2.321.0'\n".to_vec(),
        ),
        (
            "build/4_Publish.txt",
            format!(
                "2026-01-02T03:04:06.0000000Z npm config set //npm.pkg.github.com/:_authToken {TOKEN}\n\
                 2026-01-02T03:04:06.1000000Z aws configure set aws_access_key_id AKIAQYLPMN5HHHFPZAM2\n"
            )
            .into_bytes(),
        ),
    ]);
    let path = write_temp(dir.path(), "logs_48213.zip", &archive);
    let (code, findings, stderr) = through_bash(
        r#""$0" scan log -f json --no-progress <(cat "$1")"#,
        &[&path],
    );
    assert_eq!(code, 1, "{stderr}");
    let mut where_found: Vec<(String, u64)> = findings
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            (
                p[p.find('!').unwrap()..].to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    where_found.sort();
    assert_eq!(
        where_found,
        [
            ("!build/4_Publish.txt".to_string(), 1),
            ("!build/4_Publish.txt".to_string(), 2)
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_named_fifo_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("job.log");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let log = std::fs::read(fixture("gitlab.log")).unwrap();
    let writer = {
        let (fifo, log) = (fifo.clone(), log.clone());
        std::thread::spawn(move || std::fs::write(fifo, log))
    };
    let (code, findings, stderr) = scan_json(&[fifo.to_str().unwrap()], None);
    // Joined only once the FIFO was surely read: a writer left without a
    // reader would block forever.
    assert_eq!(code, 1, "{stderr}");
    writer.join().unwrap().unwrap();
    let (_, direct, _) = scan_json(&[fixture("gitlab.log").to_str().unwrap()], None);
    let lines = |fs: &[Value]| {
        fs.iter()
            .map(|f| (f["line"].clone(), f["column"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&findings), lines(&direct));
}

#[cfg(target_os = "linux")]
#[test]
fn character_devices_are_refused_with_the_reason() {
    let out = leakscrub()
        .args(["scan", "log", "--no-progress", "/dev/zero"])
        .arg(fixture("clean.log"))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("leakscrub: /dev/zero: a character device, not a file"),
        "{stderr}"
    );
    assert!(stderr.contains("scanned 1 file"), "{stderr}");
}

#[test]
fn quiet_still_names_the_unreadable_log() {
    let out = leakscrub()
        .args(["scan", "log", "-q", "artifacts/build-48213.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "leakscrub: artifacts/build-48213.log: no such file or directory"
    );
}

#[test]
fn empty_logs_are_nothing_to_scan() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write_temp(dir.path(), "0_Cleanup.txt", b"");
    let (code, findings, stderr) = scan_json(&[empty.to_str().unwrap()], None);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert!(stderr.contains("nothing to scan"), "{stderr}");
    let (code, _, stderr) = scan_json(&["-"], Some(Vec::new()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing to scan"), "{stderr}");
}

fn windows_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows")
        .join(name)
}

fn positions(findings: &[Value]) -> Vec<(String, u64, u64, u64)> {
    let mut p: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            )
        })
        .collect();
    p.sort();
    p
}

#[test]
fn utf16_transcripts_are_decoded_from_files_and_stdin() {
    let text = windows_fixture("Transcript.txt");
    let (code, reference, _) = scan_json(&[text.to_str().unwrap()], None);
    assert_eq!(code, 1);
    let reference = positions(&reference);
    assert!(reference.len() >= 4, "{reference:?}");
    let dir = tempfile::tempdir().unwrap();
    // Windows PowerShell's Out-File: UTF-16LE with a BOM and CRLF.
    let le = dir.path().join("Transcript-le.txt");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; t = open(sys.argv[1], encoding='utf-8').read(); \
             open(sys.argv[2], 'wb').write(t.replace('\\n', '\\r\\n').encode('utf-16'))",
        ])
        .arg(&text)
        .arg(&le)
        .status()
        .unwrap();
    assert!(status.success());
    // Big-endian, the mark encoded by iconv from U+FEFF.
    let be = dir.path().join("Transcript-be.txt");
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            "{ printf '\\357\\273\\277'; cat \"$1\"; } | iconv -f UTF-8 -t UTF-16BE > \"$2\"",
        ])
        .arg("sh")
        .arg(&text)
        .arg(&be)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(&std::fs::read(&be).unwrap()[..2], b"\xfe\xff");
    for encoded in [&le, &be] {
        let (code, found, stderr) = scan_json(&[encoded.to_str().unwrap()], None);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(positions(&found), reference, "{}", encoded.display());
        let (code, found, stderr) = scan_json(&["-"], Some(std::fs::read(encoded).unwrap()));
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(positions(&found), reference, "stdin {}", encoded.display());
    }
}

#[test]
fn log_fingerprints_do_not_depend_on_how_the_path_is_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("orders");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("ci/logs")).unwrap();
    let log = repo.join("ci/logs/build-48213.log");
    std::fs::copy(fixture("github-actions.log"), &log).unwrap();
    let archive = build_archive(&[(
        "build/3_Build.txt",
        std::fs::read(fixture("gitlab.log")).unwrap(),
    )]);
    write_temp(&repo.join("ci/logs"), "logs_48213.zip", &archive);
    let run = |cwd: &Path, args: &[&str]| {
        let out = leakscrub()
            .current_dir(cwd)
            .args(["scan", "log", "-f", "json", "--no-progress"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let found: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut fps: Vec<String> = found
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect();
        fps.sort();
        fps
    };
    let abs = repo.join("ci/logs");
    let expected = run(
        &repo,
        &["ci/logs/build-48213.log", "ci/logs/logs_48213.zip"],
    );
    assert!(expected.len() >= 2);
    assert_eq!(run(&abs, &["build-48213.log", "logs_48213.zip"]), expected);
    assert_eq!(
        run(
            Path::new("/"),
            &[
                abs.join("build-48213.log").to_str().unwrap(),
                abs.join("logs_48213.zip").to_str().unwrap()
            ]
        ),
        expected
    );
    assert_eq!(
        run(
            &repo.join("ci"),
            &["./logs/../logs/build-48213.log", "logs/logs_48213.zip"]
        ),
        expected
    );
}
