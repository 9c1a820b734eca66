//! Secrets written encoded — base64 in Kubernetes secrets and docker
//! configs, JSON escapes in notebooks and nested documents, percent-encoded
//! passwords, line continuations, hex — found by the real binary at the
//! encoded text, with the decoding in their provenance; and encoded text
//! that holds no secret (images, hashes, source maps, tokens of claims)
//! reports nothing.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use leakscrub::engine::checksum::make_github_style_token;
use serde_json::{json, Value};

fn leakscrub() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// Runs `scan dir` on `dir` in `format` and returns exit code and stdout.
fn scan(dir: &Path, format: &str, extra: &[&str]) -> (i32, String) {
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "--format", format])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn findings(dir: &Path) -> Vec<Value> {
    let (code, out) = scan(dir, "json", &[]);
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(code, if all.is_empty() { 0 } else { 1 }, "{out}");
    all
}

/// (rule, file name, line, column, encodings of the provenance chain)
fn summary(all: &[Value]) -> Vec<(String, String, u64, u64, Vec<String>)> {
    let mut rows: Vec<_> = all
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            let encodings = f["provenance"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["kind"] == "decoded")
                .map(|o| o["encoding"].as_str().unwrap().to_string())
                .collect();
            (
                f["rule"].as_str().unwrap().to_string(),
                name.into_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                encodings,
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    rule: &str,
    file: &str,
    line: u64,
    column: u64,
    enc: &[&str],
) -> (String, String, u64, u64, Vec<String>) {
    (
        rule.to_string(),
        file.to_string(),
        line,
        column,
        enc.iter().map(|e| e.to_string()).collect(),
    )
}

/// GitHub tokens with valid checksums, one per seed.
fn github(prefix: &str, seed: &str) -> String {
    let body: String = seed.chars().cycle().take(30).collect();
    make_github_style_token(prefix, &body)
}

const SLACK_BOT: &str = "xoxb-2847561930-4819275036154-Lq7WmZ3xK9pT2vN8rB5sY4cD";

#[test]
fn kubernetes_secret_data_values_are_found_at_their_base64() {
    let dir = tempfile::tempdir().unwrap();
    let pat = github("ghp_", "k8sCiDeployBot2024Xq");
    let plain = github("gho_", "stringDataOauthApp77");
    let manifest = format!(
        "apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: ci-credentials\n  namespace: build\n\
         type: Opaque\n\
         data:\n  GITHUB_TOKEN: {}\n  username: {}\n  SLACK_BOT_TOKEN: {}\n\
         stringData:\n  DEPLOY_TOKEN: {plain}\n",
        b64(&pat),
        b64("ci-bot"),
        b64(SLACK_BOT),
    );
    write(dir.path(), "deploy/secret.yaml", &manifest);

    let all = findings(dir.path());
    assert_eq!(
        summary(&all),
        vec![
            row("github-oauth", "secret.yaml", 12, 17, &[]),
            row("github-pat", "secret.yaml", 8, 17, &["base64"]),
            row("slack-bot-token", "secret.yaml", 10, 20, &["base64"]),
        ]
    );
    let decoded = all.iter().find(|f| f["rule"] == "github-pat").unwrap();
    // The end is that of the encoded value, not of the decoded token.
    assert_eq!(decoded["end_column"], 17 + b64(&pat).len() as u64);
    assert_eq!(decoded["secret"], "ghp_***");
    assert_eq!(decoded["provenance"][0]["kind"], "file");
    assert_eq!(
        decoded["provenance"][1],
        json!({"kind": "decoded", "encoding": "base64"})
    );

    let (_, text) = scan(dir.path(), "text", &[]);
    assert!(
        text.contains("secret.yaml:8:17  github-pat  ghp_***  (base64)"),
        "{text}"
    );
    assert!(!text.contains(&pat) && !text.contains(&b64(&pat)), "{text}");

    let (_, sarif) = scan(dir.path(), "sarif", &[]);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let slack = results
        .iter()
        .find(|r| r["ruleId"] == "slack-bot-token")
        .unwrap();
    assert_eq!(
        slack["properties"]["provenance"][1],
        json!({"kind": "decoded", "encoding": "base64"})
    );
    let region = &slack["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(10), Some(20))
    );
    assert!(!sarif.to_string().contains(SLACK_BOT));
}

#[test]
fn docker_config_auths_of_every_registry() {
    let dir = tempfile::tempdir().unwrap();
    let ghcr = github("ghs_", "ghcrPushFromActions9");
    let hub = "dckr_pat_aB3dE5fG7hI9jK1lM2nO4pQ6rS8";
    let config = json!({
        "auths": {
            "ghcr.io": {"auth": b64(&format!("ci-bot:{ghcr}"))},
            "https://index.docker.io/v1/": {"auth": b64(&format!("releasebot:{hub}"))},
            "registry.internal:5000": {"auth": b64("anonymous:")},
        },
        "credsStore": "desktop",
    });
    write(
        dir.path(),
        ".docker/config.json",
        &serde_json::to_string_pretty(&config).unwrap(),
    );
    let all = findings(dir.path());
    assert_eq!(
        summary(&all),
        vec![
            row("dockerhub-access-token", "config.json", 7, 16, &["base64"]),
            row("github-server-to-server", "config.json", 4, 16, &["base64"]),
        ]
    );
    for f in &all {
        assert!(f["path"].as_str().unwrap().ends_with(".docker/config.json"));
    }
}

#[test]
fn notebook_keys_escaped_inside_source_strings() {
    let dir = tempfile::tempdir().unwrap();
    let aws_secret = "q8Hc2LmN4vR7tY1wZ5xB9dF3gJ6kP0sU2eA4iO7u";
    let pat = github("ghp_", "notebookCellToken123");
    let notebook = json!({
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Nightly export\n"]},
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {},
                "outputs": [],
                "source": [
                    "import boto3\n",
                    format!("s3 = boto3.client(\"s3\", aws_access_key_id=\"AKIAQYLPMN5HHHFPZAM2\", aws_secret_access_key=\"{aws_secret}\")\n"),
                    format!("headers = {{\"Authorization\": \"token {pat}\"}}\n"),
                ]
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5
    });
    write(
        dir.path(),
        "notebooks/export.ipynb",
        &serde_json::to_string_pretty(&notebook).unwrap(),
    );
    let all = findings(dir.path());
    let rows = summary(&all);
    // Each key once, at its place in the notebook's own lines.
    assert_eq!(
        rows,
        vec![
            row("aws-access-key-id", "export.ipynb", 17, 56, &[]),
            row("generic-secret-assignment", "export.ipynb", 17, 104, &[]),
            row("github-pat", "export.ipynb", 18, 48, &[]),
        ]
    );
    let out = serde_json::to_string(&all).unwrap();
    assert!(!out.contains(aws_secret) && !out.contains(&pat));
}

#[test]
fn an_escaped_json_document_inside_a_feature_flags_file() {
    let dir = tempfile::tempdir().unwrap();
    // PHP's json_encode escapes slashes: the URL is only seen unescaped.
    let inner = r##"{"alerts":{"channel":"#deploys","webhook":"https:\/\/hooks.slack.com\/services\/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"},"rollout":25}"##;
    let flags = json!({
        "version": 7,
        "flags": {"new-checkout": {"enabled": true, "config": inner}},
    });
    write(
        dir.path(),
        "config/feature-flags.json",
        &serde_json::to_string_pretty(&flags).unwrap(),
    );
    let all = findings(dir.path());
    let rows = summary(&all);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "slack-webhook-url");
    assert_eq!(rows[0].2, 4);
    // Escaped once in the document and once more as a string of the file.
    assert_eq!(rows[0].4, vec!["escaped", "escaped"]);
}

#[test]
fn percent_encoded_passwords_in_connection_strings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env.production",
        "NODE_ENV=production\n\
         DATABASE_URL=postgres://app:p%40ssW0rd%21x7Qz@db.internal:5432/app?sslmode=require\n\
         MONGO_URL=mongodb+srv://svc:Zx%2F9kLm%3Dq2Rt@cluster0.ab1cd.mongodb.net/prod?retryWrites=true\n",
    );
    let all = findings(dir.path());
    let rows = summary(&all);
    assert_eq!(
        rows.iter()
            .map(|r| (r.0.as_str(), r.2, r.3))
            .collect::<Vec<_>>(),
        vec![
            ("database-url-password", 2, 29),
            ("database-url-password", 3, 29)
        ],
        "{rows:?}"
    );
    let out = serde_json::to_string(&all).unwrap();
    assert!(!out.contains("ssW0rd") && !out.contains("9kLm"), "{out}");
}

#[test]
fn a_token_split_by_a_line_continuation() {
    let dir = tempfile::tempdir().unwrap();
    let pat = github("ghu_", "splitAcrossTwoLines42");
    let (head, tail) = pat.split_at(18);
    write(
        dir.path(),
        "scripts/release.sh",
        &format!(
            "#!/bin/sh\nset -eu\ncurl -sf \\\n  -H \"Authorization: token {head}\\\n{tail}\" \\\n  https://api.github.com/user\n"
        ),
    );
    let slack = "xoxb-9384756102-5647382910564-Tm4Rq8Wz2Kp6Lx9Nc3Bv7Yd5";
    let (a, b) = slack.split_at(30);
    write(
        dir.path(),
        "Dockerfile",
        &format!(
            "FROM alpine:3.20\nRUN apk add --no-cache curl \\\n && curl -X POST -H 'Authorization: Bearer {a}\\\n{b}' https://slack.com/api/chat.postMessage\n"
        ),
    );
    let rows = summary(&findings(dir.path()));
    assert_eq!(
        rows,
        vec![
            row(
                "github-user-to-server",
                "release.sh",
                3,
                1,
                &["line-continuation"]
            ),
            row(
                "slack-bot-token",
                "Dockerfile",
                2,
                1,
                &["line-continuation"]
            ),
        ]
    );
}

#[test]
fn hex_encoded_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let pat = github("ghp_", "hexStoredInVaultDump");
    let hex: String = format!("token={pat}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    write(
        dir.path(),
        "backup/vault-export.txt",
        &format!("# exported 2024-03-01\npath: secret/ci/github\nvalue: {hex}\n"),
    );
    let rows = summary(&findings(dir.path()));
    assert_eq!(
        rows,
        vec![row("github-pat", "vault-export.txt", 3, 8, &["hex"])]
    );
}

#[test]
fn decoding_off_misses_the_token_behind_base64() {
    let dir = tempfile::tempdir().unwrap();
    let pat = github("ghp_", "onlyVisibleDecoded99");
    write(
        dir.path(),
        "values.yaml",
        &format!("data:\n  GITHUB_TOKEN: {}\n", b64(&pat)),
    );
    // Undecoded, the value is at best an anonymous high-entropy string.
    let (_, out) = scan(dir.path(), "json", &["--max-decode-depth", "0"]);
    let off: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(off.iter().all(|f| f["rule"] != "github-pat"), "{out}");
    assert_eq!(
        summary(&findings(dir.path())),
        vec![row("github-pat", "values.yaml", 2, 17, &["base64"])]
    );
}

/// Encoded text that holds no secret: binary data, identifiers, hashes,
/// tokens of harmless claims, images, source maps, minified code.
#[test]
fn encoded_text_without_secrets_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let png = {
        let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
        p.extend_from_slice(&binary[..200]);
        STANDARD.encode(p)
    };
    write(
        dir.path(),
        "web/styles.css",
        &format!(".logo {{ background: url(data:image/png;base64,{png}); }}\n"),
    );
    write(
        dir.path(),
        "certs/bundle.yaml",
        &format!("caBundle: {}\n", STANDARD.encode(&binary)),
    );
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"sub":"1234567890","name":"Jane Doe","role":"viewer","iat":1516239022}"#);
    write(
        dir.path(),
        "docs/auth.md",
        &format!(
            "# Sessions\n\nA session claim looks like `{header}.{payload}` before it is signed.\n\n\
             func TestContainerCreateWithPortBindingsAndHostConfig(t *testing.T) {{}}\n\
             sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
             commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
        ),
    );
    write(
        dir.path(),
        "package-lock.json",
        r#"{
  "name": "web",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/react": {
      "version": "18.3.1",
      "resolved": "https://registry.npmjs.org/react/-/react-18.3.1.tgz",
      "integrity": "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=="
    },
    "node_modules/loose-envify": {
      "version": "1.4.0",
      "integrity": "sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q=="
    }
  }
}
"#,
    );
    let mappings =
        "AAAA,SAASA,EAAEC,GAAG,OAAOA,EAAE,CAAC,CAAC;AAChC,MAAMC,EAAE,IAAID,EAAE,CAAC,CAAC";
    let map = json!({"version": 3, "file": "app.min.js", "sources": ["app.ts"], "names": ["add", "x"], "mappings": mappings});
    write(
        dir.path(),
        "dist/app.min.js",
        &format!(
            "!function(e){{\"use strict\";var t=\"\\u0041BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\",n=function(e){{return e.replace(/\\s+/g,\"\")}};e.decode=n}}(window);\n\
             //# sourceMappingURL=data:application/json;charset=utf-8;base64,{}\n",
            STANDARD.encode(map.to_string())
        ),
    );
    write(dir.path(), "dist/app.min.js.map", &map.to_string());
    let (code, out) = scan(dir.path(), "json", &[]);
    assert_eq!((code, out.trim()), (0, "[]"));
}
