//! `leakscrub run -- CMD`, with real child processes and real pipes.

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use assert_cmd::Command;
use leakscrub::engine::checksum::make_github_style_token;

fn run_sh(args: &[&str], script: &str) -> (Vec<u8>, Vec<u8>, i32) {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("run")
        .args(args)
        .args(["--", "sh", "-c", script])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (out.stdout, out.stderr, out.status.code().unwrap_or(-1))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// `printf` argument for arbitrary bytes.
fn octal(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:03o}")).collect()
}

#[test]
fn exit_code_passes_through() {
    let (_, _, code) = run_sh(&[], "echo hi; exit 3");
    assert_eq!(code, 3);
}

#[test]
fn stdout_and_stderr_are_redacted_into_their_own_streams() {
    let t = make_github_style_token("ghp_", "Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0");
    let (out, err, code) = run_sh(&[], &format!("echo out {t}; echo err {t} >&2"));
    assert_eq!(code, 0);
    assert_eq!(out, b"out ***\n");
    assert_eq!(err, b"err ***\n");
}

#[test]
fn add_mask_on_stdout_masks_on_stderr_too() {
    let (out, err, _) = run_sh(
        &[],
        "echo ::add-mask::shared-secret-9; sleep 0.3; echo shared-secret-9 >&2",
    );
    assert_eq!(out, b"");
    assert_eq!(err, b"***\n");
}

#[test]
fn secret_written_byte_by_byte_with_pauses_longer_than_flush() {
    let secret = b"bytewise-secret";
    let mut script = format!("printf '::add-mask::{}\\n'; ", octal(secret));
    script.push_str("printf 'start '; ");
    for b in secret {
        script.push_str(&format!("printf '{}'; sleep 0.08; ", octal(&[*b])));
    }
    script.push_str("printf ' end\\n'");
    let (out, _, code) = run_sh(&["--flush-ms", "20"], &script);
    assert_eq!(code, 0);
    assert_eq!(out, b"start *** end\n");
}

#[test]
fn secret_split_at_every_byte_across_two_writes() {
    let secret = b"split-me-secret";
    let token = make_github_style_token("ghp_", "Ab3dEf6hIj9lMn2pQr5tUv8xYz1B4D");
    let mut script = format!("printf '::add-mask::{}\\n'; ", octal(secret));
    let mut expected = Vec::new();
    for s in [secret.to_vec(), token.clone().into_bytes()] {
        for cut in 1..s.len() {
            script.push_str(&format!(
                "printf '<{}'; sleep 0.06; printf '{}>\\n'; ",
                octal(&s[..cut]),
                octal(&s[cut..])
            ));
            expected.extend_from_slice(b"<***>\n");
        }
    }
    script.push_str("true");
    let (out, _, _) = run_sh(&["--flush-ms", "10"], &script);
    assert!(!contains(&out, secret));
    assert!(!contains(&out, token.as_bytes()));
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn self_overlapping_secrets_split_inside_the_repeat() {
    let script = "printf '::add-mask::aab\\n::add-mask::p4ssp4ssX\\n'; \
                  printf 'x aa'; sleep 0.2; printf 'ab y\\n'; \
                  printf 'x p4ssp4ss'; sleep 0.2; printf 'p4ssX y\\n'";
    let (out, _, _) = run_sh(&["--min-length", "3", "--flush-ms", "20"], script);
    assert_eq!(out, b"x a*** y\nx p4ss*** y\n");
}

#[test]
fn last_output_is_not_lost() {
    let script = "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done; printf tail";
    let (out, _, code) = run_sh(&[], script);
    assert_eq!(code, 0);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.lines().count(), 3001);
    assert!(text.ends_with("line2999\ntail"));
}

#[test]
fn prompt_without_newline_appears_within_the_flush_delay() {
    let mut child = StdCommand::cargo_bin("leakscrub")
        .unwrap()
        .args(["run", "--flush-ms", "50", "--", "sh", "-c"])
        .arg("printf 'Password: '; sleep 3; echo done")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"Password: ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let waited = started.elapsed();
    // The child writes again after 3 s; the prompt must come well before.
    assert!(
        waited < Duration::from_millis(2000),
        "prompt took {waited:?}"
    );
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"done\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn sigterm_reaches_the_child() {
    let mut child = StdCommand::cargo_bin("leakscrub")
        .unwrap()
        .args(["run", "--", "sh", "-c"])
        .arg("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"ready\n") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early");
        got.extend_from_slice(&buf[..n]);
    }
    // SAFETY: signalling a child process we spawned.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"got-term\n");
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[test]
fn exit_status_after_the_child_is_killed_by_a_signal() {
    let (_, _, code) = run_sh(&[], "kill -TERM $$");
    assert_eq!(code, 128 + 15);
    let (_, _, code) = run_sh(&[], "kill -KILL $$");
    assert_eq!(code, 128 + 9);
}

#[test]
fn closed_stdout_does_not_hang() {
    let mut child = StdCommand::cargo_bin("leakscrub")
        .unwrap()
        .args(["run", "--", "yes", "y"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 16];
    stdout.read_exact(&mut buf).unwrap();
    drop(stdout);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success() || status.code().is_some());
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("leakscrub run did not exit after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn command_not_found_is_one_line_without_the_command_line() {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .args(["run", "--", "no-such-cmd-s3cr3t", "--password=hunter2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn missing_command_is_a_usage_error() {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .args(["run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fail_on_match_with_a_clean_exit() {
    let (_, _, code) = run_sh(
        &["--fail-on-match"],
        "echo ::add-mask::leaky-value; echo leaky-value",
    );
    assert_eq!(code, 1);
    let (_, _, code) = run_sh(&["--fail-on-match"], "echo fine");
    assert_eq!(code, 0);
}

#[test]
fn progress_bar_redrawn_faster_than_the_flush_delay_still_shows() {
    let mut child = StdCommand::cargo_bin("leakscrub")
        .unwrap()
        .args(["run", "--flush-ms", "100", "--", "sh", "-c"])
        .arg("i=0; while [ $i -lt 80 ]; do printf '\\r%s%%' $i; sleep 0.03; i=$((i+1)); done; echo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 256];
    let n = stdout.read(&mut buf).unwrap();
    assert!(n > 0);
    // Redraws go on for at least 2.4 s without a newline and never pause
    // for the flush delay; the bar must show while it is being redrawn.
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_millis(1500),
        "first output after {waited:?}"
    );
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
}

// `--report` that cannot be written.

/// A report path whose parent folder does not exist.
fn unwritable_report_path() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-folder").join("run-report.json");
    (dir, path.to_str().unwrap().to_string())
}

#[test]
fn unwritable_report_keeps_the_commands_failing_exit_code() {
    let (_dir, report) = unwritable_report_path();
    let token = make_github_style_token("ghp_", "Rk4mW8qT2vN6xB1cZ9pL3sH7dF5gJ0");
    let (out, err, code) = run_sh(
        &["--report", &report],
        &format!("echo deploy with {token}; echo step failed >&2; exit 7"),
    );
    assert_eq!(code, 7);
    assert_eq!(out, b"deploy with ***\n");
    let err = String::from_utf8_lossy(&err);
    let report_lines: Vec<&str> = err.lines().filter(|l| l.contains("report")).collect();
    assert_eq!(report_lines.len(), 1, "{err}");
    assert!(report_lines[0].contains("run-report.json"), "{err}");
    assert!(err.starts_with("step failed\n"), "{err}");
    assert!(!err.contains(&token), "{err}");
}

#[test]
fn unwritable_report_turns_a_clean_exit_into_an_error() {
    let (_dir, report) = unwritable_report_path();
    let (_, err, code) = run_sh(&["--report", &report], "echo all good");
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&err).contains("run-report.json"));
    // --fail-on-match does not hide the failure behind a "masked" 1.
    let (_, _, code) = run_sh(
        &["--report", &report, "--fail-on-match"],
        "echo ::add-mask::masked-value-8; echo masked-value-8",
    );
    assert_eq!(code, 2);
}

#[test]
fn writable_report_is_still_written_with_the_commands_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run-report.json");
    let (_, _, code) = run_sh(
        &["--report", report.to_str().unwrap()],
        "echo ::add-mask::deploy-pass-41; echo deploy-pass-41; exit 4",
    );
    assert_eq!(code, 4);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("\"masked\": 1"), "{text}");
    assert!(!text.contains("deploy-pass-41"), "{text}");
}

// Background processes that keep the command's pipes open.

/// Runs `leakscrub run ARGS -- sh -c SCRIPT` and times it. `$BG_PIDS` in
/// SCRIPT names a file to append background pids to; they are killed
/// afterwards so no test leaves a process behind.
fn timed_run_sh(args: &[&str], script: &str) -> (Vec<u8>, Vec<u8>, i32, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("bg.pids");
    let script = script.replace("$BG_PIDS", pid_file.to_str().unwrap());
    let started = Instant::now();
    let (out, err, code) = run_sh(args, &script);
    let took = started.elapsed();
    for pid in std::fs::read_to_string(&pid_file)
        .unwrap_or_default()
        .split_whitespace()
    {
        let _ = StdCommand::new("kill").arg(pid).status();
    }
    (out, err, code, took)
}

#[test]
fn background_process_holding_the_pipes_does_not_delay_the_exit() {
    let (out, _, code, took) = timed_run_sh(
        &[],
        "sleep 30 & echo $! >> $BG_PIDS; echo deploy started; exit 5",
    );
    assert_eq!(code, 5);
    assert_eq!(out, b"deploy started\n");
    // Without the grace limit this takes the background sleep's 30 s.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn background_process_on_stderr_only_does_not_delay_the_exit() {
    let (_, err, code, took) = timed_run_sh(
        &[],
        "sleep 30 >/dev/null & echo $! >> $BG_PIDS; echo warn >&2",
    );
    assert_eq!(code, 0);
    assert_eq!(err, b"warn\n");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn everything_the_command_wrote_before_exiting_comes_out_redacted() {
    // More than a pipe holds, so the command blocks until it is read and
    // some of it is still in the pipe when the command exits.
    let token = make_github_style_token("ghp_", "Vb7nM3kQ9wE2rT6yU1iO5pA8sD4fG0");
    let script = format!(
        "sleep 30 & echo $! >> $BG_PIDS; \
         i=0; while [ $i -lt 6000 ]; do echo \"step $i token {token} ok\"; i=$((i+1)); done; \
         printf 'last {token} no newline'; exit 9"
    );
    let (out, _, code, took) = timed_run_sh(&[], &script);
    assert_eq!(code, 9);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains(&token));
    assert_eq!(text.lines().count(), 6001);
    assert!(text.starts_with("step 0 token *** ok\n"), "{}", &text[..60]);
    assert!(text.ends_with("step 5999 token *** ok\nlast *** no newline"));
}

#[test]
fn background_process_that_never_stops_writing_secrets_is_cut_off_redacted() {
    let token = make_github_style_token("ghp_", "Lp2oK8iJ4uH6yG0tF3rD9eS1wA5qZ7");
    // The writer dies of a broken pipe once leakscrub has gone.
    let script = format!(
        "(while :; do echo \"worker {token}\"; done) & echo $! >> $BG_PIDS; \
         sleep 0.3; echo command done; exit 4"
    );
    let (out, err, code, took) = timed_run_sh(&[], &script);
    assert_eq!(code, 4);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains(&token[..8]));
    assert!(!String::from_utf8_lossy(&err).contains(&token[..8]));
    assert!(text.contains("command done\n"));
    let stray: Vec<&str> = text
        .lines()
        .filter(|l| *l != "worker ***" && *l != "command done")
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
