//! Property test: what `scan dir` finds in a file — rule, line, column,
//! end, masked secret — is the same whether the file lies in the folder or
//! inside any archive wrapper (zip, tar, tar.gz, .gz, .zst, a zip inside a
//! tar.gz), the path aside. Secrets in the file are plain and encoded, so
//! decoding is held to the same standard.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use leakscrub::engine::checksum::make_github_style_token;
use proptest::prelude::*;
use serde_json::Value;

/// Where the file sits inside every archive.
const MEMBER: &str = "deploy/settings.yaml";

#[derive(Debug, Clone)]
enum Line {
    /// Configuration without secrets.
    Filler(usize),
    /// A token as written, base64, percent-encoded in a URL, split by a
    /// line continuation, or hex; indented by the given number of spaces.
    Secret(Form, usize),
}

#[derive(Debug, Clone, Copy)]
enum Form {
    Plain,
    Base64,
    Url,
    Continued,
    Hex,
}

const FILLER: &[&str] = &[
    "replicas: 3",
    "image: registry.example.com/web:1.24.3",
    "# rotate credentials every 90 days",
    "labels: {app: web, tier: frontend}",
    "checksum/config: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "logo: iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9h",
    "",
];

fn line_strategy() -> impl Strategy<Value = Line> {
    prop_oneof![
        3 => (0..FILLER.len()).prop_map(Line::Filler),
        2 => (
            prop_oneof![
                Just(Form::Plain),
                Just(Form::Base64),
                Just(Form::Url),
                Just(Form::Continued),
                Just(Form::Hex),
            ],
            0usize..6,
        )
            .prop_map(|(f, indent)| Line::Secret(f, indent)),
    ]
}

fn token_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'], 30)
        .prop_map(|body| make_github_style_token("ghp_", &String::from_utf8_lossy(&body)))
}

/// The file's text; each secret line holds its own token.
fn render(lines: &[Line], tokens: &[String]) -> String {
    let mut text = String::new();
    for (line, token) in lines.iter().zip(tokens.iter().cycle()) {
        match line {
            Line::Filler(i) => text.push_str(FILLER[*i]),
            Line::Secret(form, indent) => {
                text.push_str(&" ".repeat(*indent));
                match form {
                    Form::Plain => text.push_str(&format!("GITHUB_TOKEN={token}")),
                    Form::Base64 => text.push_str(&format!("token: {}", STANDARD.encode(token))),
                    Form::Url => text.push_str(&format!(
                        "url: https://ci:{}@git.example.com/org/repo.git",
                        token.replace('A', "%41")
                    )),
                    Form::Continued => {
                        let (a, b) = token.split_at(12);
                        text.push_str(&format!(
                            "run: curl -H \"token {a}\\\n{b}\" https://api.github.com"
                        ));
                    }
                    Form::Hex => {
                        let hex: String = token.bytes().map(|b| format!("{b:02x}")).collect();
                        text.push_str(&format!("value: {hex}"));
                    }
                }
            }
        }
        text.push('\n');
    }
    text
}

fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd_of(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// The same file in every wrapper, each in its own folder of `root`.
fn write_wrappers(root: &Path, file: &[u8]) {
    let member = [(MEMBER, file)];
    let put = |dir: &str, name: &str, bytes: Vec<u8>| {
        let d = root.join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(name), bytes).unwrap();
    };
    put("plain", "settings.yaml", file.to_vec());
    put(
        "zip",
        "bundle.zip",
        zip_of(&member, zip::CompressionMethod::Deflated),
    );
    put(
        "zip-stored",
        "bundle.zip",
        zip_of(&member, zip::CompressionMethod::Stored),
    );
    put("tar", "bundle.tar", tar_of(&member));
    put("tar-gz", "bundle.tar.gz", gzip(&tar_of(&member)));
    put("gz", "settings.yaml.gz", gzip(file));
    put("zst", "settings.yaml.zst", zstd_of(file));
    let inner = zip_of(&member, zip::CompressionMethod::Deflated);
    put(
        "nested",
        "release.tar.gz",
        gzip(&tar_of(&[("release/inner.zip", &inner)])),
    );
}

type Seen = (String, u64, u64, u64, u64, String, Vec<String>);

/// Findings by wrapper folder, each as (rule, line, column, end line, end
/// column, masked secret, decodings), sorted.
fn scan(root: &Path) -> BTreeMap<String, Vec<Seen>> {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .args(["scan", "dir", "--no-progress", "--format", "json"])
        .arg(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut by: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    for f in findings {
        let outer = f["provenance"][0]["path"].as_str().unwrap();
        let rel = Path::new(outer).strip_prefix(root).unwrap();
        let wrapper = rel.components().next().unwrap().as_os_str();
        let decodings = f["provenance"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == "decoded")
            .map(|o| o["encoding"].as_str().unwrap().to_string())
            .collect();
        by.entry(wrapper.to_string_lossy().into_owned())
            .or_default()
            .push((
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["end_line"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
                f["secret"].as_str().unwrap().to_string(),
                decodings,
            ));
    }
    for v in by.values_mut() {
        v.sort();
    }
    by
}

const WRAPPERS: &[&str] = &[
    "plain",
    "zip",
    "zip-stored",
    "tar",
    "tar-gz",
    "gz",
    "zst",
    "nested",
];

proptest! {
    // Each case runs the binary once over eight copies of the file.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn findings_do_not_depend_on_the_archive_around_a_file(
        lines in proptest::collection::vec(line_strategy(), 1..14),
        tokens in proptest::collection::vec(token_strategy(), 14),
        crlf in any::<bool>(),
    ) {
        let mut text = render(&lines, &tokens);
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let dir = tempfile::tempdir().unwrap();
        write_wrappers(dir.path(), text.as_bytes());
        let by = scan(dir.path());

        let plain = by.get("plain").cloned().unwrap_or_default();
        let secrets = lines.iter().filter(|l| matches!(l, Line::Secret(..))).count();
        // Every secret line is found at least once in the plain file.
        prop_assert!(
            plain.len() >= secrets,
            "{} findings for {} secrets in\n{}", plain.len(), secrets, text
        );
        for w in WRAPPERS {
            let got = by.get(*w).cloned().unwrap_or_default();
            prop_assert_eq!(&got, &plain, "{} differs for\n{}", w, text);
        }
    }
}
