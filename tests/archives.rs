//! Hostile archives through the real binary: bombs, corrupt and truncated
//! streams, nesting past the depth limit, overlapping zip entries, tar
//! links, devices and sparse entries, member names that point outside.
//! Every input is built by Python's zipfile / tarfile / gzip / bz2 (or the
//! Rust encoders) in a temporary folder; each scan must say exactly what
//! it skipped or could not read, and stay within a few seconds and a
//! bounded amount of memory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A GitHub classic PAT with a valid CRC32 checksum (synthetic).
const TOKEN: &str = "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";

/// Wall time any of these scans may take, debug build included.
const TIME_BOUND: Duration = Duration::from_secs(10);

/// Peak resident memory a bomb may cost (KiB).
const RSS_BOUND_KIB: u64 = 300 * 1024;

/// Runs a Python script with `dir` as its working folder.
fn python(dir: &Path, script: &str) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one run of the binary produced.
struct Run {
    code: i32,
    findings: Vec<Value>,
    stderr: String,
    summary: Value,
    wall: Duration,
    /// Peak resident memory in KiB, when `/usr/bin/time` can tell.
    peak_kib: Option<u64>,
}

impl Run {
    fn skipped(&self, reason: &str) -> u64 {
        self.summary["skipped"][reason].as_u64().unwrap_or(0)
    }

    /// The error lines, without the summary line.
    fn errors(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .stderr
            .lines()
            .filter(|l| !l.starts_with("leakscrub: scanned"))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .findings
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        paths.sort();
        paths
    }

    fn assert_bounded(&self) {
        assert!(self.wall < TIME_BOUND, "took {:?}", self.wall);
        match self.peak_kib {
            Some(kib) => assert!(kib < RSS_BOUND_KIB, "peak RSS {kib} KiB"),
            None => eprintln!("peak RSS not measured: /usr/bin/time is not installed"),
        }
    }
}

/// Runs `leakscrub scan MODE ARGS... TARGET` in `cwd` with a JSON report
/// and a summary, under `/usr/bin/time -v` when it is there.
fn scan(cwd: &Path, mode: &str, args: &[&str], target: &str) -> Run {
    let bin = assert_cmd::cargo::cargo_bin("leakscrub");
    let meta = tempfile::tempdir().unwrap();
    let summary = meta.path().join("summary.json");
    let timing = meta.path().join("time.txt");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg("-o").arg(&timing).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .args(["scan", mode, "-f", "json", "--no-progress", "--summary"])
        .arg(&summary)
        .args(args)
        .arg(target);
    let started = Instant::now();
    let out = cmd.output().expect("leakscrub runs");
    let wall = started.elapsed();
    let findings = if out.stdout.is_empty() {
        vec![]
    } else {
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let peak_kib = fs::read_to_string(&timing).ok().and_then(|t| {
        t.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|n| n.trim().parse().ok())
    });
    let summary = fs::read_to_string(&summary)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        findings,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary,
        wall,
        peak_kib,
    }
}

/// A project folder with one ordinary file holding a secret, to show the
/// rest of a scan goes on past a hostile archive.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    fs::create_dir_all(root.join("deploy")).unwrap();
    fs::write(
        root.join("deploy/.env"),
        format!("# staging\nGITHUB_TOKEN={TOKEN}\nREGION=eu-west-1\n"),
    )
    .unwrap();
    (dir, root)
}

#[test]
fn ratio_bomb_stops_at_the_ratio() {
    let (_tmp, root) = project();
    // 2 GiB of build output from a few KB: one bzip2 stream of 10 MiB of
    // text, repeated (a multi-stream file is one stream to its readers).
    python(
        &root,
        r#"
import bz2, os
os.makedirs("ci/logs", exist_ok=True)
one = bz2.compress(b"[build] step 4/9 ok\n" * ((10 << 20) // 20))
open("ci/logs/nightly.log.bz2", "wb").write(one * 200)
"#,
    );
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    assert_eq!(run.errors(), Vec::<String>::new());
    run.assert_bounded();

    // A log is named on its own: being cut short is an error naming it.
    let run = scan(&root, "log", &[], "ci/logs/nightly.log.bz2");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.errors(),
        ["leakscrub: ci/logs/nightly.log.bz2: compression ratio above 1000:1 (a bomb?), the rest is not read"]
    );
    run.assert_bounded();
}

#[test]
fn tar_gz_bomb_is_caught_through_the_gzip_stream() {
    let (_tmp, root) = project();
    // The gzip stream inflates one tar member of 3 GiB from ~3 MB; the tar
    // member itself is stored, so only the stream around it can tell. A
    // gzip stream of one member repeated is still one gzip stream.
    python(
        &root,
        r#"
import gzip, io, tarfile
info = tarfile.TarInfo("var/log/app.log")
info.size = 3 << 30
header = info.tobuf(format=tarfile.GNU_FORMAT)
block = gzip.compress(b"2026-01-02 app started\n" * (1 << 20), 9)
with open("release.tar.gz", "wb") as f:
    f.write(gzip.compress(header))
    for _ in range(info.size // (23 << 20) + 1):
        f.write(block)
"#,
    );
    let run = scan(
        &root,
        "dir",
        &["--max-archive-ratio", "100", "--max-member-size", "100GB"],
        ".",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    run.assert_bounded();
    let run = scan(
        &root,
        "log",
        &["--max-archive-ratio", "100", "--max-member-size", "100GB"],
        "release.tar.gz",
    );
    assert_eq!(
        run.errors(),
        ["leakscrub: release.tar.gz!var/log/app.log: compression ratio above 100:1 (a bomb?), the rest is not read"]
    );
    run.assert_bounded();
}

#[test]
fn total_size_bomb_across_many_members_stops_at_the_archive_size() {
    let (_tmp, root) = project();
    // 300 members of 1 MiB: each compresses well but below the ratio
    // limit; together they are 300 MiB.
    python(
        &root,
        &format!(
            r#"
import random, zipfile
r = random.Random(7)
words = ["restore", "cache", "npm", "ci", "warn", "deprecated", "ok", "step"]
line = lambda: " ".join(r.choice(words) for _ in range(10)) + "\n"
page = "".join(line() for _ in range(2000)).encode()
with zipfile.ZipFile("artifacts.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("logs/000.log", b"export GITHUB_TOKEN={TOKEN}\n" + page)
    for i in range(1, 300):
        z.writestr("logs/%03d.log" % i, (page * 20)[: 1 << 20])
"#
        ),
    );
    let run = scan(&root, "dir", &["--max-archive-size", "8MB"], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["artifacts.zip!logs/000.log", "deploy/.env"]);
    // One member is cut at the limit and nothing after it is read.
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    let scanned = run.summary["bytes"].as_u64().unwrap();
    assert!(scanned <= 8 << 20, "{scanned} bytes scanned");
    run.assert_bounded();
}

/// A 42.zip-style nest: a zip of 16 zips of 16 zips of 16 zips of one
/// 1 MiB text file (65536 files, 64 GiB), a few KB on disk because each
/// level's copies compress against each other.
const NESTED_BOMB: &str = r#"
import io, zipfile
def zip_of(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()
level = zip_of([("build.log", b"[build] compiling module ok\n" * ((1 << 20) // 28))])
for depth in range(3):
    level = zip_of([("part%02d.zip" % i, level) for i in range(16)])
open("nested.zip", "wb").write(level)
"#;

#[test]
fn nested_bomb_past_the_depth_limit_is_counted_not_unpacked() {
    let (_tmp, root) = project();
    python(&root, NESTED_BOMB);
    assert!(fs::metadata(root.join("nested.zip")).unwrap().len() < 200_000);
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    // Depth 0 is the file, 1 and 2 are unpacked, the 16^3 zips at depth 3
    // are not.
    assert_eq!(
        run.skipped("over_an_archive_limit"),
        4096,
        "{}",
        run.summary
    );
    assert_eq!(run.errors(), Vec::<String>::new());
    run.assert_bounded();
}

#[test]
fn nested_bomb_unpacked_all_the_way_stops_at_the_archive_size() {
    let (_tmp, root) = project();
    python(&root, NESTED_BOMB);
    let run = scan(
        &root,
        "dir",
        &["--max-archive-depth", "8", "--max-archive-size", "32MB"],
        ".",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    assert!(run.summary["bytes"].as_u64().unwrap() <= 32 << 20);
    run.assert_bounded();
}

#[test]
fn nested_bomb_stops_at_the_ratio_of_the_whole_file() {
    let (_tmp, root) = project();
    python(&root, NESTED_BOMB);
    // Each level compresses within the ratio limit, but 64 GiB from a few
    // KB does not: what the file inflates to in all is measured against
    // its size, so the scan stops long before the 2 GB total.
    let run = scan(&root, "dir", &["--max-archive-depth", "8"], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    let size = fs::metadata(root.join("nested.zip")).unwrap().len();
    let scanned = run.summary["bytes"].as_u64().unwrap();
    assert!(
        scanned <= size * 1000 + (1 << 20),
        "{scanned} bytes scanned"
    );
    run.assert_bounded();
    let run = scan(&root, "log", &["--max-archive-depth", "8"], "nested.zip");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].ends_with(
            "!build.log: archive inflates to more than 1000 times its size (a bomb?), the rest is not read"
        ),
        "{}",
        errors[0]
    );
}

#[test]
fn corrupt_and_truncated_archives_are_one_line_each_and_the_scan_goes_on() {
    let (_tmp, root) = project();
    python(
        &root,
        r##"
import bz2, gzip, io, random, tarfile, zipfile
r = random.Random(3)
words = ["deploy", "build", "cache", "restore", "npm", "ci", "step", "ok", "pull", "layer"]
def text(n):
    out = b""
    while len(out) < n:
        out += (" ".join(r.choice(words) for _ in range(8)) + "\n").encode()
    return out
def cut(data, fraction):
    return data[: int(len(data) * fraction)]
g = gzip.compress(text(200_000))
open("build.log.gz", "wb").write(cut(g, 0.5))
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w:gz") as t:
    for name, data in [("app/README.md", b"# app\n"), ("app/config.yml", text(300_000))]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
open("release.tar.gz", "wb").write(cut(b.getvalue(), 0.66))
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w") as t:
    data = text(50_000)[:50_000]; info = tarfile.TarInfo("db/dump.sql"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
open("backup.tar", "wb").write(b.getvalue()[:20_000])
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
    f.writestr("index.html", text(5000))
open("site.zip", "wb").write(z.getvalue()[:-30])
flipped = bytearray(z.getvalue())
for i in range(60, 90):
    flipped[i] ^= 0x55
open("docs.zip", "wb").write(bytes(flipped))
open("audit.log.bz2", "wb").write(cut(bz2.compress(text(100_000)), 0.5))
"##,
    );
    let zst = zstd::stream::encode_all(&b"[deploy] rollout ok\n".repeat(5000)[..], 3).unwrap();
    fs::write(root.join("layer.zst"), &zst[..zst.len() / 2]).unwrap();
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(
        run.errors(),
        [
            "leakscrub: audit.log.bz2: corrupt bzip2 stream (truncated)",
            "leakscrub: backup.tar!db/dump.sql: truncated tar member (19488 of 50000 bytes)",
            "leakscrub: build.log.gz: corrupt gzip stream (truncated)",
            "leakscrub: docs.zip!index.html: corrupt zip member (corrupt deflate stream)",
            "leakscrub: layer.zst: corrupt zstd stream (truncated)",
            "leakscrub: release.tar.gz!app/config.yml: corrupt gzip stream (truncated)",
            "leakscrub: site.zip: corrupt zip archive (invalid Zip archive: Could not find EOCD)",
        ]
    );
    assert_eq!(run.summary["errors"], 7);
    run.assert_bounded();
}

#[test]
fn overlapping_zip_entries_are_read_once() {
    let (_tmp, root) = project();
    // One member's data, then 49 more central-directory entries pointing
    // at the same local header: each would inflate the same bytes again.
    python(
        &root,
        &format!(
            r#"
import io, struct, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("config/a00.env", b"GITHUB_TOKEN={TOKEN}\n" + b"LOG_LEVEL=info\n" * 50000)
data = b.getvalue()
cd_at = data.index(b"PK\x01\x02")
eocd_at = data.index(b"PK\x05\x06")
entry = data[cd_at:eocd_at]
entries = [entry] + [entry.replace(b"config/a00.env", b"config/a%02d.env" % i) for i in range(1, 50)]
cd = b"".join(entries)
eocd = bytearray(data[eocd_at:])
struct.pack_into("<HHII", eocd, 8, 50, 50, len(cd), cd_at)
open("overlap.zip", "wb").write(data[:cd_at] + cd + bytes(eocd))
"#
        ),
    );
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env", "overlap.zip!config/a00.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 49, "{}", run.summary);
    run.assert_bounded();
    let run = scan(&root, "log", &[], "overlap.zip");
    assert_eq!(run.paths(), ["overlap.zip!config/a00.env"]);
    let errors = run.errors();
    assert_eq!(errors.len(), 49, "{}", run.stderr);
    assert_eq!(
        errors[0],
        "leakscrub: overlap.zip!config/a01.env: shares its data with another entry (a zip bomb?), not read"
    );
}

#[test]
fn tar_links_and_devices_are_skipped_and_counted() {
    let (_tmp, root) = project();
    python(
        &root,
        &format!(
            r#"
import io, tarfile
with tarfile.open("rootfs.tar", "w") as t:
    def add(name, kind, **kw):
        info = tarfile.TarInfo(name); info.type = kind
        for k, v in kw.items(): setattr(info, k, v)
        t.addfile(info)
    add("etc/passwd-link", tarfile.SYMTYPE, linkname="/etc/passwd")
    add("etc/shadow-hard", tarfile.LNKTYPE, linkname="etc/shadow")
    add("dev/zero", tarfile.CHRTYPE, devmajor=1, devminor=5)
    add("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
    add("run/initctl", tarfile.FIFOTYPE)
    data = b"GITHUB_TOKEN={TOKEN}\n"
    info = tarfile.TarInfo("root/.bash_history"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
"#
        ),
    );
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.paths(),
        ["deploy/.env", "rootfs.tar!root/.bash_history"]
    );
    assert_eq!(run.skipped("symlink"), 2, "{}", run.summary);
    assert_eq!(run.skipped("not_a_regular_file"), 3, "{}", run.summary);
    assert_eq!(run.errors(), Vec::<String>::new());
}

#[test]
fn huge_sparse_tar_entry_costs_bounded_time() {
    let (_tmp, root) = project();
    // An old-GNU sparse entry: 8 KiB of text stored, then a hole to 8 GiB
    // (the largest the header's octal fields hold).
    // The holes inflate from nothing, so the ratio is taken against what
    // is stored.
    python(
        &root,
        r#"
def octal(n, width):
    return ("%0*o" % (width - 1, n)).encode() + b"\0"
stored = b"2026-01-02T03:04:05Z disk image export started\n" * 200
stored = stored[:8192]
real = 0o77777777000
h = bytearray(512)
h[0:15] = b"images/disk.img"
h[100:108] = octal(0o644, 8)
h[108:116] = octal(0, 8)
h[116:124] = octal(0, 8)
h[124:136] = octal(len(stored), 12)
h[136:148] = octal(0, 12)
h[156:157] = b"S"
h[257:265] = b"ustar  \0"
h[386:398] = octal(0, 12)
h[398:410] = octal(len(stored), 12)
h[410:422] = octal(real, 12)
h[422:434] = octal(0, 12)
h[483:495] = octal(real, 12)
h[148:156] = b" " * 8
h[148:155] = ("%06o\0" % sum(h)).encode()
with open("disk.tar", "wb") as f:
    f.write(bytes(h) + stored + bytes(1024))
"#,
    );
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["deploy/.env"]);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    assert_eq!(run.errors(), Vec::<String>::new());
    run.assert_bounded();
}

/// Every path under `dir`, relative to it.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn members_named_outside_the_archive_are_scanned_and_nothing_is_written() {
    let (tmp, root) = project();
    python(
        &root,
        &format!(
            r#"
import io, tarfile, zipfile
secret = b"GITHUB_TOKEN={TOKEN}\n"
with zipfile.ZipFile("pwn.zip", "w") as z:
    z.writestr("../../x", secret)
    z.writestr("/etc/cron.d/x", secret)
with tarfile.open("pwn.tar.gz", "w:gz") as t:
    for name in ["../../x", "/tmp/x"]:
        info = tarfile.TarInfo(name); info.size = len(secret)
        t.addfile(info, io.BytesIO(secret))
"#
        ),
    );
    let before = tree(tmp.path());
    for mode in ["dir", "log"] {
        let target = if mode == "dir" { "." } else { "pwn.zip" };
        let run = scan(&root, mode, &[], target);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.errors(), Vec::<String>::new());
        assert_eq!(tree(tmp.path()), before, "scan {mode} wrote a file");
        if mode == "dir" {
            assert_eq!(
                run.paths(),
                [
                    "deploy/.env",
                    "pwn.tar.gz!../../x",
                    "pwn.tar.gz!/tmp/x",
                    "pwn.zip!../../x",
                    "pwn.zip!/etc/cron.d/x",
                ]
            );
        } else {
            assert_eq!(run.paths(), ["pwn.zip!../../x", "pwn.zip!/etc/cron.d/x"]);
        }
    }
}

#[test]
fn compressed_and_packed_logs_are_read_as_logs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let step = format!(
        "2026-01-02T03:04:05.1000000Z ##[group]Run npm publish\n\
         2026-01-02T03:04:05.2000000Z \x1b[36;1mnpm config set //npm.pkg.github.com/:_authToken {TOKEN}\x1b[0m\n"
    );
    fs::write(root.join("step.txt"), &step).unwrap();
    python(
        root,
        r#"
import gzip, io, tarfile
step = open("step.txt", "rb").read()
open("publish.log.gz", "wb").write(gzip.compress(step))
with tarfile.open("logs_48213.tar.gz", "w:gz") as t:
    for name, data in [("1_Set up job.txt", b"2026-01-02T03:04:04.0000000Z Runner ready\n"), ("4_Publish.txt", step)]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
"#,
    );
    let zst = zstd::stream::encode_all(step.as_bytes(), 3).unwrap();
    fs::write(root.join("publish.log.zst"), zst).unwrap();
    // The column of the token in the raw line, timestamp and colour code
    // included: positions are those of the input.
    let raw_line = step.lines().nth(1).unwrap();
    let column = raw_line.find("ghp_").unwrap() as u64 + 1;
    for (input, path) in [
        ("publish.log.gz", "publish.log.gz"),
        ("publish.log.zst", "publish.log.zst"),
        ("logs_48213.tar.gz", "logs_48213.tar.gz!4_Publish.txt"),
    ] {
        let run = scan(root, "log", &[], input);
        assert_eq!(run.code, 1, "{input}: {}", run.stderr);
        assert_eq!(run.paths(), [path]);
        let f = &run.findings[0];
        assert_eq!(
            (f["line"].as_u64(), f["column"].as_u64()),
            (Some(2), Some(column))
        );
    }
}

#[test]
fn zip_sizes_are_counted_not_taken_from_the_headers() {
    let (_tmp, root) = project();
    // 3 MB that claims to inflate to 100 bytes, and the same entry claiming
    // 4 GB of compressed data in a file of a few KB.
    python(
        &root,
        &format!(
            r#"
import io, struct, zipfile
data = b"LOG_LEVEL=info\n" * 200000 + b"GITHUB_TOKEN={TOKEN}\n"
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("app/.env", data)
plain = b.getvalue()
cd = plain.index(b"PK\x01\x02")
def patched(local_at, central_at, value):
    d = bytearray(plain)
    struct.pack_into("<I", d, local_at, value)
    struct.pack_into("<I", d, cd + central_at, value)
    return bytes(d)
open("small-claim.zip", "wb").write(patched(22, 24, 100))
open("big-claim.zip", "wb").write(patched(18, 20, 0xFFFFFFF0))
"#
        ),
    );
    // Read whole, the claims change nothing: the token at the end is found.
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.paths(),
        [
            "big-claim.zip!app/.env",
            "deploy/.env",
            "small-claim.zip!app/.env"
        ]
    );
    // The member limit holds against the 100-byte claim...
    let run = scan(
        &root,
        "dir",
        &["--max-member-size", "1MB"],
        "small-claim.zip",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
    // ...and the ratio is taken against the bytes there are, not the 4 GB
    // claimed.
    let run = scan(
        &root,
        "dir",
        &["--max-archive-ratio", "50"],
        "big-claim.zip",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.skipped("over_an_archive_limit"), 1, "{}", run.summary);
}

#[test]
fn member_size_limit_is_per_member_inside_a_compressed_tar() {
    let (_tmp, root) = project();
    // Twelve 100 KB files: the tar is over 1 MB, each member is not.
    python(
        &root,
        &format!(
            r#"
import io, random, tarfile
r = random.Random(5)
with tarfile.open("site.tar.gz", "w:gz") as t:
    for i in range(12):
        data = bytes(r.choice(b"abcdefghij \n") for _ in range(100_000))
        if i == 11:
            data += b"\nGITHUB_TOKEN={TOKEN}\n"
        info = tarfile.TarInfo("static/page%02d.txt" % i); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
"#
        ),
    );
    let run = scan(&root, "dir", &["--max-member-size", "1MB"], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.paths(),
        ["deploy/.env", "site.tar.gz!static/page11.txt"]
    );
    assert_eq!(run.skipped("over_an_archive_limit"), 0, "{}", run.summary);
}

#[test]
fn a_tar_gz_is_counted_once_against_the_archive_size() {
    let (_tmp, root) = project();
    python(
        &root,
        &format!(
            r#"
import io, random, tarfile
r = random.Random(9)
big = bytes(r.choice(b"abcdefghij \n") for _ in range(3_000_000))
small = b"npm config set //npm.pkg.github.com/:_authToken {TOKEN}\n"
with tarfile.open("logs_77.tar.gz", "w:gz") as t:
    for name, data in [("1_Build.txt", big), ("2_Publish.txt", small)]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
"#
        ),
    );
    // 3 MB inflated, read by the tar: within 4 MB.
    let run = scan(
        &root,
        "log",
        &["--max-archive-size", "4MB"],
        "logs_77.tar.gz",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["logs_77.tar.gz!2_Publish.txt"]);
    assert_eq!(run.errors(), Vec::<String>::new());
    // The member is cut at its limit; reading past it, the archive meets
    // its own: each is named once.
    let run = scan(
        &root,
        "log",
        &["--max-member-size", "1MB", "--max-archive-size", "2MB"],
        "logs_77.tar.gz",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.errors(),
        [
            "leakscrub: logs_77.tar.gz!1_Build.txt: inflates past the member size limit (1048576 bytes), the rest is not read",
            "leakscrub: logs_77.tar.gz: archive inflates past the total size limit (2097152 bytes), the rest is not read",
        ]
    );
}

#[test]
fn a_large_zip_inside_a_tar_is_not_held_in_memory() {
    let (tmp, root) = project();
    // A release tar holding a 60 MB zip: its directory is at its end, so
    // it is held to be read, on disk past a few MB.
    python(
        &root,
        &format!(
            r#"
import io, os, tarfile, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
    z.writestr("assets/video.bin", os.urandom(60 << 20))
    z.writestr("app/.env", b"GITHUB_TOKEN={TOKEN}\n")
data = b.getvalue()
with tarfile.open("release.tar", "w") as t:
    info = tarfile.TarInfo("release/app.zip"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
"#
        ),
    );
    let before = tree(tmp.path());
    let run = scan(&root, "dir", &[], "release.tar");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths(), ["release.tar!release/app.zip!app/.env"]);
    assert_eq!(tree(tmp.path()), before);
    match run.peak_kib {
        Some(kib) => assert!(kib < 56 * 1024, "peak RSS {kib} KiB"),
        None => eprintln!("peak RSS not measured: /usr/bin/time is not installed"),
    }
}

#[test]
fn a_compressed_log_archive_on_standard_input_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let step = format!("2026-01-02T03:04:05.1000000Z \x1b[31mexport GH_TOKEN={TOKEN}\x1b[0m\n");
    fs::write(dir.path().join("step.txt"), &step).unwrap();
    python(
        dir.path(),
        r#"
import io, tarfile
step = open("step.txt", "rb").read()
with tarfile.open("logs.tar.gz", "w:gz") as t:
    info = tarfile.TarInfo("3_Deploy.txt"); info.size = len(step); t.addfile(info, io.BytesIO(step))
"#,
    );
    let out = assert_cmd::Command::cargo_bin("leakscrub")
        .unwrap()
        .args(["scan", "log", "-f", "json", "--no-progress", "-"])
        .write_stdin(fs::read(dir.path().join("logs.tar.gz")).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "stdin!3_Deploy.txt");
    let column = step.find("ghp_").unwrap() as u64 + 1;
    assert_eq!(findings[0]["column"].as_u64(), Some(column));
}

#[test]
fn member_names_never_reach_the_terminal_as_escape_sequences() {
    let (_tmp, root) = project();
    python(
        &root,
        r##"
import io, tarfile
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w") as t:
    data = b"restore cache\n" * 4000
    info = tarfile.TarInfo("logs/\x1b[2J\x1b]0;owned\x07step.log"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
open("cache.tar", "wb").write(b.getvalue()[:20_000])
"##,
    );
    let run = scan(&root, "dir", &[], ".");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b') && !run.stderr.contains('\x07'));
    assert!(
        run.stderr
            .contains("cache.tar!logs/\\x1b[2J\\x1b]0;owned\\x07step.log: truncated tar member"),
        "{}",
        run.stderr
    );
}
