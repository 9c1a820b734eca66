//! `leakscrub redact`, through the real binary.

use assert_cmd::Command;
use leakscrub::engine::checksum::make_github_style_token;
use leakscrub::redact::encodings::needles_for;

fn redact() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.arg("redact").env_clear();
    c
}

fn output_of(args: &[&str], input: &[u8]) -> (Vec<u8>, String, i32) {
    let out = redact()
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .unwrap();
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn token() -> String {
    make_github_style_token("ghp_", "Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0")
}

#[test]
fn add_mask_line_is_dropped_and_value_masked_from_then_on() {
    let input = b"before s3cr3tval\n::add-mask::s3cr3tval\nafter s3cr3tval!\n";
    let (out, _, code) = output_of(&[], input);
    assert_eq!(code, 0);
    assert_eq!(out, b"before s3cr3tval\nafter ***!\n");
}

#[test]
fn add_mask_with_crlf_and_escaped_newline() {
    let input = b"::add-mask::line1%0Aline2\r\nx line1\nline2 y\n";
    let (out, _, _) = output_of(&[], input);
    assert_eq!(out, b"x *** y\n");
}

#[test]
fn pattern_token_masked_and_binary_bytes_pass_through() {
    let t = token();
    let mut input = b"\xff\xfe\x00bin ".to_vec();
    input.extend_from_slice(t.as_bytes());
    input.extend_from_slice(b" \xc3\x28 end");
    let (out, _, code) = output_of(&[], &input);
    assert_eq!(code, 0);
    assert_eq!(out, b"\xff\xfe\x00bin *** \xc3\x28 end");
}

#[test]
fn invalid_checksum_is_left_alone() {
    let t = format!("ghp_{}", "Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0AAAAAA");
    let input = format!("t={t}\n");
    let (out, _, _) = output_of(&[], input.as_bytes());
    assert_eq!(out, input.as_bytes());
}

#[test]
fn rules_none_masks_no_pattern() {
    let input = format!("t={}\n", token());
    let (out, _, _) = output_of(&["--rules", "none"], input.as_bytes());
    assert_eq!(out, input.as_bytes());
}

#[test]
fn ansi_inside_a_value_is_masked_and_escapes_kept() {
    let input = b"::add-mask::SECRETVALUE\nSEC\x1b[1mRETVALUE and SECRET\x1b[0;31m\x1b[KVALUE\n";
    let (out, _, _) = output_of(&[], input);
    assert_eq!(out, b"***\x1b[1m and ***\x1b[0;31m\x1b[K\n");
}

#[test]
fn ansi_inside_a_token_is_masked() {
    let t = token();
    let input = format!("a {}\x1b[1m{} b\n", &t[..10], &t[10..]);
    let (out, _, _) = output_of(&[], input.as_bytes());
    assert_eq!(out, b"a ***\x1b[1m b\n");
}

#[test]
fn grep_color_output_is_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.txt");
    std::fs::write(&file, "config: hunter2hunter2 ok\n").unwrap();
    let grep = std::process::Command::new("grep")
        .args(["--color=always", "r2hu"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(contains(&grep.stdout, b"\x1b["), "grep did not colour");
    let mut input = b"::add-mask::hunter2hunter2\n".to_vec();
    input.extend_from_slice(&grep.stdout);
    let (out, _, _) = output_of(&[], &input);
    let visible = strip_ansi(&out);
    assert!(
        !contains(&visible, b"hunter2"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(contains(&out, b"***"));
    assert!(contains(&out, b"\x1b["), "colours were dropped");
}

fn strip_ansi(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == 0x1b && i + 1 < s.len() && s[i + 1] == b'[' {
            i += 2;
            while i < s.len() && !(0x40..=0x7e).contains(&s[i]) {
                i += 1;
            }
            i += 1;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn carriage_return_does_not_let_a_secret_through() {
    let input = b"::add-mask::S3CR3T-V4L\nS3CR3T-V4L\rXXXX\nprogress S3CR3T-\rV4L\n";
    let (out, _, _) = output_of(&[], input);
    assert_eq!(out, b"***\rXXXX\nprogress S3CR3T-\rV4L\n");
}

#[test]
fn adjacent_and_spaced_repeats() {
    let input = b"::add-mask::abcdef12\nabcdef12abcdef12|abcdef12 abcdef12\n";
    let (out, _, _) = output_of(&[], input);
    assert_eq!(out, b"******|*** ***\n");
}

#[test]
fn secret_at_eof_without_newline() {
    let (out, _, _) = output_of(&[], b"::add-mask::tail-secret\nend tail-secret");
    assert_eq!(out, b"end ***");
    let t = token();
    let (out, _, _) = output_of(&[], format!("end {t}").as_bytes());
    assert_eq!(out, b"end ***");
}

#[test]
fn overlapping_and_nested_values_mask_their_union() {
    let input = b"::add-mask::abcdefgh\n::add-mask::efghijkl\n::add-mask::cdef12\nxabcdefghijklx cdef12 abcdef12\n";
    let (out, _, _) = output_of(&[], input);
    assert_eq!(out, b"x***x *** ab***\n");
}

#[test]
fn replacement_template_names_what_matched() {
    let input = format!("::add-mask::value-one\nvalue-one {}\n", token());
    let (out, _, _) = output_of(&["--replacement", "[{name}]"], input.as_bytes());
    assert_eq!(out, b"[add-mask] [github-pat]\n");
}

#[test]
fn short_add_mask_value_is_ignored_with_a_warning_not_naming_it() {
    let (out, err, _) = output_of(&[], b"::add-mask::abc\nabc\n");
    assert_eq!(out, b"abc\n");
    assert!(err.contains("not registered"), "{err}");
    assert!(!err.contains("abc"), "{err}");
    let (out, _, _) = output_of(&["--min-length", "3"], b"::add-mask::abc\nabc\n");
    assert_eq!(out, b"***\n");
}

#[test]
fn report_counts_without_values_and_fail_on_match() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let input = format!("::add-mask::value-one\nvalue-one value-one {}\n", token());
    let (_, _, code) = output_of(
        &["--report", report.to_str().unwrap(), "--fail-on-match"],
        input.as_bytes(),
    );
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains("value-one"), "{text}");
    assert!(!text.contains(&token()), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["masked"], 3);
    assert_eq!(json["rules"]["github-pat"], 1);
    assert_eq!(json["values"]["add-mask"], 2);
    let (_, _, code) = output_of(&["--fail-on-match"], b"nothing here\n");
    assert_eq!(code, 0);
}

#[test]
fn long_line_without_newline_streams_through() {
    let mut input = vec![b'a'; 3 << 20];
    input.extend_from_slice(format!(" {} ", token()).as_bytes());
    input.extend(std::iter::repeat_n(b'b', 3 << 20));
    let (out, _, code) = output_of(&[], &input);
    assert_eq!(code, 0);
    assert_eq!(out.len(), (6 << 20) + 5);
    assert!(contains(&out, b" *** "));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let (_, err, code) = output_of(&["--no-such-flag"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("--no-such-flag"), "{err}");
}

// Known values from the environment and files.

#[test]
fn value_env_is_masked() {
    let out = redact()
        .args(["--value-env", "MY_VAL"])
        .env("MY_VAL", "env-secret-1")
        .write_stdin("x env-secret-1 y\n")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"x *** y\n");
}

#[test]
fn values_from_env_default_globs() {
    let out = redact()
        .env("DEPLOY_TOKEN", "tok-secret-22")
        .env("PLAIN", "not-secret-33")
        .write_stdin("tok-secret-22 not-secret-33\n")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"*** not-secret-33\n");
}

#[test]
fn short_env_value_warns_with_the_name_only() {
    let out = redact()
        .args(["--value-env", "SHORT_ONE"])
        .env("SHORT_ONE", "abc")
        .write_stdin("abc\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SHORT_ONE"), "{err}");
    assert!(!err.contains("abc"), "{err}");
    assert_eq!(out.stdout, b"abc\n");
}

// Encodings, through `needles_for` and the real binary.

fn masked(value: &str, text: &[u8]) -> Vec<u8> {
    let mut input = format!("::add-mask::{value}\n").into_bytes();
    input.extend_from_slice(text);
    output_of(&[], &input).0
}

fn base64_of(data: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(data)
        .into_bytes()
}

#[test]
fn plain_value_is_a_needle() {
    assert!(needles_for(b"value-xyz").contains(&b"value-xyz".to_vec()));
}

#[test]
fn base64_of_printf_newline_at_every_length_mod_3() {
    for value in ["secret7", "secret78", "secret789"] {
        let mut line = value.as_bytes().to_vec();
        line.push(b'\n');
        let encoded = base64_of(&line);
        let mut text = encoded.clone();
        text.push(b'\n');
        let out = masked(value, &text);
        let plain = base64_of(value.as_bytes());
        let stem = &plain[..plain.len() - 4];
        assert!(
            !contains(&out, stem),
            "{value}: {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn base64_wrapped_at_76_columns() {
    let value = "k".repeat(40) + &"Q7x".repeat(40);
    let encoded = base64_of(value.as_bytes());
    let wrapped: Vec<u8> = encoded
        .chunks(76)
        .flat_map(|c| c.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    let out = masked(&value, &wrapped);
    for line in encoded.chunks(76) {
        assert!(!contains(&out, &line[4..line.len() - 4]));
    }
}

#[test]
fn hex_and_percent_encodings() {
    let value = "p@ss w0rd/1";
    let hex_lower: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    let hex_upper = hex_lower.to_uppercase();
    let text = format!("{hex_lower} {hex_upper} p%40ss%20w0rd%2F1\n");
    let out = masked(value, text.as_bytes());
    assert_eq!(out, b"*** *** ***\n");
}

#[test]
fn json_escaping() {
    let value = "a\"b\\c-secret";
    let text = b"{\"k\":\"a\\\"b\\\\c-secret\"}\n";
    let out = masked(&value.replace('%', "%25"), text);
    assert_eq!(out, b"{\"k\":\"***\"}\n");
}

#[test]
fn bash_xtrace_of_value_with_quote_space_and_dollar() {
    let value = "it's a $ecret";
    let trace = std::process::Command::new("bash")
        .args(["-xc", "echo \"$V\" >/dev/null"])
        .env("V", value)
        .output()
        .unwrap();
    let out = masked(value, &trace.stderr);
    assert!(
        !contains(&out, b"ecret"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn config_rules_by_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rules.toml");
    std::fs::write(
        &config,
        r#"
[[rules]]
id = "team-token"
description = "team token"
regex = '''\b(tt_[a-z0-9]{12})\b'''
keywords = ["tt_"]
confidence = "high"

[[rules]]
id = "team-hint"
description = "team hint"
regex = '''\b(th_[a-z0-9]{12})\b'''
keywords = ["th_"]
confidence = "low"
"#,
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let input = b"a tt_q8w7e6r5t4y3 b th_q8w7e6r5t4y3 c\n";
    let (out, _, _) = output_of(&["--config", c], input);
    assert_eq!(out, b"a *** b th_q8w7e6r5t4y3 c\n");
    let (out, _, _) = output_of(&["--config", c, "--rules", "all"], input);
    assert_eq!(out, b"a *** b *** c\n");
    let (_, err, code) = output_of(&["--config", "/nonexistent/rules.toml"], input);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Deterministic pseudo-random alphanumeric text (xorshift), so a failure
/// names a reproducible case.
fn alnum(len: usize, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// `data` through the real `base64` tool wrapped at `width` columns.
fn base64_tool(data: &[u8], width: usize) -> Vec<u8> {
    let out = std::process::Command::new("base64")
        .arg(format!("-w{width}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(data)?;
            drop(stdin);
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The base64 characters of `stream` whose bits all come from
/// `stream[at..at + len]`: what must never show in the output.
fn core_chars(stream: &[u8], at: usize, len: usize) -> Vec<u8> {
    let joined = base64_of(stream);
    let first = (at * 8).div_ceil(6);
    let last = ((at + len) * 8) / 6;
    joined[first..last].to_vec()
}

#[test]
fn base64_tool_output_wrapped_at_64_and_76_columns_is_masked() {
    for width in [64, 76] {
        for (k, len) in [100usize, 161, 230, 300].into_iter().enumerate() {
            for offset in 0..3 {
                let value = alnum(len, (width * 10 + k * 3 + offset) as u64);
                let mut stream = alnum(offset + 90, 7).into_bytes()[..offset].to_vec();
                stream.extend_from_slice(value.as_bytes());
                stream.extend_from_slice(b"\ntrailing text after the value\n");
                let wrapped = base64_tool(&stream, width);
                let mut input = b"before\n".to_vec();
                input.extend_from_slice(&wrapped);
                input.extend_from_slice(b"after\n");
                let out = redact()
                    .env("WRAPPED_SECRET", &value)
                    .args(["--value-env", "WRAPPED_SECRET"])
                    .write_stdin(input.clone())
                    .output()
                    .unwrap();
                assert!(out.status.success());
                let case = format!("width {width} len {len} offset {offset}");
                // Line breaks are kept, the rest of the stream too.
                let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
                assert_eq!(newlines(&out.stdout), newlines(&input), "{case}");
                assert!(out.stdout.starts_with(b"before\n"), "{case}");
                assert!(out.stdout.ends_with(b"after\n"), "{case}");
                assert!(contains(&out.stdout, b"***"), "{case}");
                let joined: Vec<u8> = out.stdout.iter().copied().filter(|&c| c != b'\n').collect();
                let core = core_chars(&stream, offset, len);
                for window in core.windows(8) {
                    assert!(!contains(&joined, window), "{case}: leaked a piece");
                }
            }
        }
    }
}

#[test]
fn crlf_wrapped_base64_is_masked_and_ordinary_lines_are_not_joined() {
    let value = alnum(120, 99);
    let wrapped = base64_tool(value.as_bytes(), 76);
    let crlf: Vec<u8> = wrapped
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
        .collect();
    let out = redact()
        .env("CRLF_SECRET", &value)
        .args(["--value-env", "CRLF_SECRET"])
        .write_stdin(crlf.clone())
        .output()
        .unwrap();
    let joined: Vec<u8> = out
        .stdout
        .iter()
        .copied()
        .filter(|&c| c != b'\n' && c != b'\r')
        .collect();
    for window in core_chars(value.as_bytes(), 0, value.len()).windows(8) {
        assert!(!contains(&joined, window));
    }
    assert_eq!(
        out.stdout.iter().filter(|&&c| c == b'\n').count(),
        crlf.iter().filter(|&&c| c == b'\n').count()
    );

    // A 75-column line is no wrapped line: the value split across it and
    // the next is two separate texts.
    let short = alnum(75, 5);
    let input = format!("{short}\nvalue-tail\n");
    let out = redact()
        .env("SPLIT_SECRET", format!("{}value-tail", &short[60..]))
        .args(["--value-env", "SPLIT_SECRET"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.stdout, input.as_bytes());
}

// `::add-mask::` as the GitHub Actions runner reads it.

/// A base64 body of `lines` full 64-column lines and a shorter last line,
/// deterministic, shaped like a PKCS#8 key.
fn pem_body(lines: usize, seed: u64) -> Vec<String> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        B64[(x % 64) as usize] as char
    };
    let mut out: Vec<String> = (0..lines)
        .map(|i| {
            let head = if i == 0 {
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".to_string()
            } else {
                String::new()
            };
            let fill: String = (head.len()..64).map(|_| next()).collect();
            head + &fill
        })
        .collect();
    out.push((0..41).map(|_| next()).collect::<String>() + "=");
    out
}

fn pem_key(kind: &str, lines: usize, seed: u64) -> String {
    let body = pem_body(lines, seed).join("\n");
    format!("-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----\n")
}

/// The runner's escaping of a command value: `%`, CR and LF.
fn command_escaped(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[test]
fn add_mask_is_read_as_the_runner_reads_it() {
    let input = "\
Run ./scripts/login.sh
  ::add-mask::Indented-Val-55
    echo token=Indented-Val-55
::ADD-MASK::Upper-Case-77
::Add-Mask trace=1::Props-Val-99
Upper-Case-77,Props-Val-99 Upper-Case-77
\t::add-mask::100%25-Pct-Value
curl -u ci:100%-Pct-Value https://artifacts.example.com/upload
::add-mask-x::not-a-command-1
 :: add-mask::not-a-command-2
echo ::add-mask::not-a-command-3
";
    let (out, err, code) = output_of(&[], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "\
Run ./scripts/login.sh
    echo token=***
***,*** ***
curl -u ci:*** https://artifacts.example.com/upload
::add-mask-x::not-a-command-1
 :: add-mask::not-a-command-2
echo ::add-mask::not-a-command-3
"
    );
}

#[test]
fn add_mask_split_across_reads_with_leading_blanks_is_still_a_command() {
    // Written in small pieces with pauses: the held line start must not
    // leak the value when the timed flush fires mid-command.
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leakscrub"))
        .args(["redact", "--flush-ms", "10"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for piece in [
        "    ",
        "::ADD",
        "-mask",
        "::Slow-Secret",
        "-Value-31",
        "\nSlow-Secret-Value-31 ok\n",
    ] {
        stdin.write_all(piece.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "*** ok\n");
}

#[test]
fn multi_line_add_mask_registers_each_line_of_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = pem_key("", 6, 11);
    let path = dir.path().join("deploy_key.pem");
    std::fs::write(&path, &key).unwrap();
    let sed = std::process::Command::new("sed")
        .args(["-n", "3,4p"])
        .arg(&path)
        .output()
        .unwrap()
        .stdout;
    let tail = std::process::Command::new("tail")
        .args(["-n", "3"])
        .arg(&path)
        .output()
        .unwrap()
        .stdout;
    let mut input = format!("::add-mask::{}\n", command_escaped(&key)).into_bytes();
    input.extend_from_slice(b"$ sed -n 3,4p deploy_key.pem\n");
    input.extend_from_slice(&sed);
    input.extend_from_slice(b"$ tail -n 3 deploy_key.pem\n");
    input.extend_from_slice(&tail);
    // `--rules none`: the lines are masked as known values, not as a block.
    let (out, _, _) = output_of(&["--rules", "none"], &input);
    let text = String::from_utf8_lossy(&out);
    for line in pem_body(6, 11) {
        assert!(!text.contains(&line[..20]), "{text}");
    }
    assert_eq!(
        text,
        "$ sed -n 3,4p deploy_key.pem\n***\n***\n$ tail -n 3 deploy_key.pem\n***\n***\n***\n"
    );
}

#[test]
fn each_line_of_a_multi_line_env_or_file_value_is_masked() {
    let key = pem_key("EC ", 3, 5);
    let body = pem_body(3, 5);
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.txt");
    let kube = "apiVersion: v1\nkind: Config\ntoken: kube-Token-4f9a2c71e0\n";
    std::fs::write(
        &values,
        format!("{}\n", serde_json::to_string(kube).unwrap()),
    )
    .unwrap();
    let input = format!(
        "{}\n{} {}\nauth: token: kube-Token-4f9a2c71e0\nkind: Config\n",
        body[1], body[2], body[0]
    );
    let out = redact()
        .args(["--rules", "none", "--value-env", "SIGNING_KEY"])
        .arg("--values-file")
        .arg(&values)
        .env("SIGNING_KEY", &key)
        .write_stdin(input)
        .output()
        .unwrap();
    // Lines shorter than --min-length (`kind: Config` is 12) are masked
    // only with --min-length at or below their length.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "***\n*** ***\nauth: ***\n***\n"
    );
    let out = redact()
        .args(["--rules", "none", "--min-length", "13", "--values-file"])
        .arg(&values)
        .write_stdin("token: kube-Token-4f9a2c71e0\nkind: Config\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "***\nkind: Config\n");
}

// PEM private-key blocks, masked line by line as they stream.

#[test]
fn a_key_cut_short_is_masked_line_by_line_and_what_follows_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id_rsa");
    std::fs::write(&path, pem_key("RSA ", 25, 3)).unwrap();
    let head = std::process::Command::new("head")
        .args(["-n", "10"])
        .arg(&path)
        .output()
        .unwrap()
        .stdout;
    let mut input = b"$ head -n 10 ~/.ssh/id_rsa\n".to_vec();
    input.extend_from_slice(&head);
    input.extend_from_slice(
        b"Deploying build 4512 to staging (eu-west-1)\nUploaded 3 artifacts in 2.3s\nDone\n",
    );
    let (out, _, code) = output_of(&[], &input);
    assert_eq!(code, 0);
    let mut expected = "$ head -n 10 ~/.ssh/id_rsa\n-----BEGIN RSA PRIVATE KEY-----\n".to_string();
    expected.push_str(&"***\n".repeat(9));
    // The block is over at the first line that is no body line.
    expected.push_str(
        "Deploying build 4512 to staging (eu-west-1)\nUploaded 3 artifacts in 2.3s\nDone\n",
    );
    assert_eq!(String::from_utf8_lossy(&out), expected);
}

#[test]
fn whole_keys_in_many_shapes_are_masked_and_neighbours_kept() {
    let rsa = pem_body(8, 21);
    let encrypted = pem_body(4, 22);
    let pgp = pem_body(5, 23);
    let openssh: Vec<String> = pem_body(4, 24)
        .chunks(2)
        .map(|pair| pair.concat().chars().take(70).collect())
        .collect();
    let yaml_key: Vec<String> = pem_body(3, 25).iter().map(|l| format!("    {l}")).collect();
    let input = format!(
        "\
+ cat deploy/id_rsa
-----BEGIN RSA PRIVATE KEY-----
{rsa}
-----END RSA PRIVATE KEY-----
+ cat legacy.key
-----BEGIN RSA PRIVATE KEY-----\r
Proc-Type: 4,ENCRYPTED\r
DEK-Info: AES-256-CBC,6F3A1C0B9D2E4F5A7B8C9D0E1F2A3B4C\r
\r
{enc_crlf}\r
-----END RSA PRIVATE KEY-----\r
+ gpg --export-secret-keys --armor release@example.com
-----BEGIN PGP PRIVATE KEY BLOCK-----
Comment: release signing key (2026)

{pgp}
=hdo4
-----END PGP PRIVATE KEY BLOCK-----
+ cat ~/.ssh/id_ed25519
-----BEGIN OPENSSH PRIVATE KEY-----
{openssh}
-----END OPENSSH PRIVATE KEY-----
+ kubectl get secret ci-ssh -o yaml
stringData:
  ssh-privatekey: |
    -----BEGIN PRIVATE KEY-----
{yaml}
    -----END PRIVATE KEY-----
kind: Secret
metadata:
  name: ci-ssh
",
        rsa = rsa.join("\n"),
        enc_crlf = encrypted.join("\r\n"),
        pgp = pgp.join("\n"),
        openssh = openssh.join("\n"),
        yaml = yaml_key.join("\n"),
    );
    let (out, _, _) = output_of(&[], input.as_bytes());
    let text = String::from_utf8_lossy(&out);
    for line in rsa.iter().chain(&encrypted).chain(&pgp).chain(&openssh) {
        assert!(!text.contains(&line[..16]), "{} in {text}", &line[..16]);
    }
    for line in &yaml_key {
        assert!(!text.contains(&line.trim()[..16]), "{text}");
    }
    assert!(
        !text.contains("DEK-Info") && !text.contains("hdo4"),
        "{text}"
    );
    let lines = |t: &str| t.matches('\n').count();
    assert_eq!(lines(&text), lines(&input), "{text:?}");
    assert_eq!(text.matches('\r').count(), input.matches('\r').count());
    for kept in [
        "+ cat legacy.key\n",
        "-----END OPENSSH PRIVATE KEY-----\n+ kubectl get secret ci-ssh -o yaml\n",
        "    -----END PRIVATE KEY-----\nkind: Secret\nmetadata:\n  name: ci-ssh\n",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n***\n\n***\n",
    ] {
        assert!(text.contains(kept), "{kept:?} missing from {text}");
    }
}

/// Runs `redact` with `--flush-ms` and writes `lines` one by one with a
/// pause, returning for each line how long its redacted form took to come
/// out, and the whole output.
fn line_latencies(
    flush_ms: u64,
    lines: &[&str],
    pause: std::time::Duration,
) -> (Vec<std::time::Duration>, String) {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::Stdio;
    use std::time::Instant;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leakscrub"))
        .args(["redact", "--flush-ms", &flush_ms.to_string()])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    // The first line waits for the redactor to start (rules compile).
    stdin.write_all(b"starting\n").unwrap();
    stdin.flush().unwrap();
    let (_, first) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    assert_eq!(first, "starting");
    let mut latencies = Vec::new();
    let mut output = String::new();
    for line in lines {
        let sent = Instant::now();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        // Every line comes out as one line; wait at most a second for it.
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok((at, got)) => {
                latencies.push(at.duration_since(sent));
                output.push_str(&got);
                output.push('\n');
            }
            Err(_) => latencies.push(std::time::Duration::MAX),
        }
        std::thread::sleep(pause);
    }
    drop(stdin);
    for (_, got) in rx.iter() {
        output.push_str(&got);
        output.push('\n');
    }
    reader.join().unwrap();
    child.wait().unwrap();
    (latencies, output)
}

#[test]
fn lines_after_a_key_header_are_written_promptly() {
    // A wide flush interval keeps the bound robust on a loaded machine;
    // the median shows lines do not wait for the timed flush either.
    let flush_ms = 600;
    let body = pem_body(2, 31);
    let lines = [
        "-----BEGIN OPENSSH PRIVATE KEY----- (example header)",
        "ordinary line 0 (done)",
        "ordinary line 1 done",
        "-----BEGIN OPENSSH PRIVATE KEY----- example header without parentheses",
        "Step 2/7 : RUN apk add --no-cache git",
        "-----BEGIN RSA PRIVATE KEY-----",
        &body[0],
        &body[1],
        "Successfully built 4f2a9c1b7e3d",
        "-----END RSA PRIVATE KEY-----",
        "Pushing image registry.example.com/app",
        "export KEY_HEADER='-----BEGIN EC PRIVATE KEY-----'",
        "npm WARN deprecated request@2.88.2",
        "{\"type\": \"service_account\", \"project_id\": \"acme-ci\"}",
        "Activated service account credentials for ci@acme-ci",
    ];
    let (latencies, output) =
        line_latencies(flush_ms, &lines, std::time::Duration::from_millis(150));
    let bound = std::time::Duration::from_millis(flush_ms + 50);
    for (line, latency) in lines.iter().zip(&latencies) {
        assert!(
            *latency <= bound,
            "{line:?} took {latency:?} (bound {bound:?}); output so far:\n{output}"
        );
    }
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    assert!(
        median < std::time::Duration::from_millis(flush_ms / 2),
        "median latency {median:?}: lines wait for the timed flush"
    );
    let expected: Vec<&str> = lines
        .iter()
        .map(|l| {
            if body.iter().any(|b| b == l) {
                "***"
            } else {
                l
            }
        })
        .collect();
    assert_eq!(output, expected.join("\n") + "\n");
}

// Go's JSON escaping and base64 of base64, through the real binary.

#[test]
fn go_json_marshal_output_of_known_values_is_masked() {
    // `json.Marshal` output, written from its documented escaping: `&`,
    // `<`, `>` as `\u0026`, `\u003c`, `\u003e`, and U+2028 as `\u2028`.
    let log = "\
level=info msg=\"loaded config\" config={\"db\":{\"user\":\"app\",\"password\":\"Amp3rs\\u0026nd-Secret-7\"},\"smtp\":\"T0k\\u003cen\\u003e-Mail-42\"}
level=info msg=\"template\" body=\"Dear \\u003cuser\\u003e \\u0026 team\"
{\"webhook\":\"https://hooks.example.com/x?sig=Line\\u2028Sep-Value-9\",\"retries\":3}
";
    let out = redact()
        .args(["--value-env", "DB_PASSWORD", "--value-env", "SMTP_TOKEN"])
        .args(["--value-env", "HOOK_SECRET"])
        .env("DB_PASSWORD", "Amp3rs&nd-Secret-7")
        .env("SMTP_TOKEN", "T0k<en>-Mail-42")
        .env("HOOK_SECRET", "Line\u{2028}Sep-Value-9")
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\
level=info msg=\"loaded config\" config={\"db\":{\"user\":\"app\",\"password\":\"***\"},\"smtp\":\"***\"}
level=info msg=\"template\" body=\"Dear \\u003cuser\\u003e \\u0026 team\"
{\"webhook\":\"https://hooks.example.com/x?sig=***\",\"retries\":3}
"
    );
}

#[test]
fn base64_of_base64_of_every_secret_is_masked() {
    // A dump of the runner's secrets, encoded twice as a compromised
    // action printed it, and the `echo | base64 | base64` shapes.
    let secrets = [
        ("NPM_TOKEN", "npm_4Qz7Lr2Vx9Kt1Wm8Pn3Hs6Bd0Fy5Gj7Cq2Xa"),
        ("DEPLOY_PASSWORD", "Tr0ub4dor&3-deploy"),
        ("SIGNING_SECRET", "whsec_9fK2mQ7xL4vR8tN1"),
    ];
    let dump: String = secrets
        .iter()
        .map(|(k, v)| format!("\"{k}\":{{\"value\":\"{v}\",\"isSecret\":true}}\n"))
        .collect();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(
        "printf '%s' \"$DUMP\" | base64 -w 0 | base64 -w 0; echo; \
         echo \"$NPM_TOKEN\" | base64 | base64; \
         printf '%s' \"$DEPLOY_PASSWORD\" | base64 | base64 -w 0; echo",
    );
    cmd.env("DUMP", &dump);
    for (k, v) in secrets {
        cmd.env(k, v);
    }
    let encoded = cmd.output().unwrap().stdout;
    let mut run = redact();
    for (k, v) in secrets {
        run.args(["--value-env", k]).env(k, v);
    }
    let out = run.write_stdin(encoded.clone()).output().unwrap().stdout;
    let text = String::from_utf8_lossy(&out);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 3, "{text}");
    // The last two lines are masked whole.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1..], ["***", "***"], "{text}");
    // No stretch of 12 characters of the doubly encoded values survives.
    for (_, v) in secrets {
        for offset in 0..3 {
            let mut inner = vec![b'x'; offset];
            inner.extend_from_slice(v.as_bytes());
            let once = base64_of(&inner);
            let once = &once[(offset * 8).div_ceil(6)..(inner.len() * 8) / 6];
            for outer in 0..3 {
                let mut stream = vec![b'y'; outer];
                stream.extend_from_slice(once);
                let twice = base64_of(&stream);
                let core = &twice[(outer * 8).div_ceil(6)..(stream.len() * 8) / 6];
                for w in core.windows(12) {
                    assert!(!contains(&out, w), "{text}");
                }
            }
        }
    }
}

#[test]
fn the_runners_other_encodings_of_a_secret_are_masked() {
    // XML (a NuGet config), an expression's doubled quote, HTML, and a
    // secret stored with double quotes printed without them.
    let log = "\
Writing NuGet.Config
    <add key=\"ClearTextPassword\" value=\"Nu&amp;Get&lt;Pw&gt;-2026\" />
##[debug]Evaluating: format('token={0}', 'it''s-Dep1oy-Key')
<p>Signed in as &quot;ci-bot&quot; with it&#x27;s-Dep1oy-Key</p>
curl -H \"Authorization: Bearer Quoted-Bearer-81\" https://api.example.com/v2/builds
";
    let out = redact()
        .args(["--value-env", "NUGET_PW", "--value-env", "DEPLOY_KEY"])
        .args(["--value-env", "API_BEARER"])
        .env("NUGET_PW", "Nu&Get<Pw>-2026")
        .env("DEPLOY_KEY", "it's-Dep1oy-Key")
        .env("API_BEARER", "\"Quoted-Bearer-81\"")
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\
Writing NuGet.Config
    <add key=\"ClearTextPassword\" value=\"***\" />
##[debug]Evaluating: format('token={0}', '***')
<p>Signed in as &quot;ci-bot&quot; with ***</p>
curl -H \"Authorization: Bearer ***\" https://api.example.com/v2/builds
"
    );
}

#[test]
fn the_legacy_add_mask_form_is_honoured_anywhere_in_a_line() {
    let input = "\
##[add-mask]Legacy-Token-8f3a
Using Legacy-Token-8f3a to upload
[setup] ##[ADD-MASK trace=1]Mid-Line-Pass-61
login: Mid-Line-Pass-61 (cached)
##[add-mask]semi%3Bcolon%5D-Key-90
key=semi;colon]-Key-90
##[add-maskx]not-a-command-5
##[warning]Legacy-Token-8f3a is deprecated
";
    let (out, err, code) = output_of(&["--rules", "none"], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "\n\
Using *** to upload
[setup] 
login: *** (cached)

key=***
##[add-maskx]not-a-command-5
##[warning]*** is deprecated
"
    );
}
