//! Throughput of the streaming redactor on a generated build log with the
//! default high-confidence rules and 1,000 registered values (each with its
//! encodings). `cargo bench --bench redact`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscrub::engine::checksum::make_github_style_token;
use leakscrub::redact::stream::{RedactConfig, Redaction, StreamRedactor};
use leakscrub::redact::values::KnownValue;
use leakscrub::rules::{load_rule_set, LoadOptions};

fn build_log(size: usize) -> Vec<u8> {
    let token = make_github_style_token("ghp_", "Zq8rT2mX9vL4Wn6Yp3Kd7Hs5Bf1Gj0");
    let mut log = Vec::with_capacity(size + 4096);
    let mut i = 0u64;
    while log.len() < size {
        let line = match i % 6 {
            0 => format!("2026-01-02T03:04:05.{i:07}Z \x1b[1m\x1b[32m   Compiling\x1b[0m crate-{i} v0.1.{i} (/build/src)\n"),
            1 => format!("npm WARN deprecated package-{i}@1.0.{i}: this package is no longer supported\n"),
            2 => format!("tests/test_mod_{i}.py::test_case_{i} PASSED                                   [ {}%]\n", i % 100),
            3 => format!("#{i} [builder 3/7] RUN pip install -r requirements.txt  {}.{}s\n", i % 60, i % 10),
            4 => format!("\rDownloading [=========>          ] {}/{} MB", i % 500, 500),
            _ => format!("   Finished `dev` profile [unoptimized + debuginfo] target(s) in {}.{}s\n", i % 60, i % 100),
        };
        log.extend_from_slice(line.as_bytes());
        if i % 3000 == 0 {
            log.extend_from_slice(format!("GITHUB_TOKEN={token}\n").as_bytes());
        }
        i += 1;
    }
    log
}

fn redact_throughput(c: &mut Criterion) {
    let Ok(rules) = load_rule_set(&LoadOptions::default()) else {
        return;
    };
    let known: Vec<KnownValue> = (0..1000u64)
        .map(|i| KnownValue {
            name: format!("V{i}"),
            value: format!("val{i:04}-{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes(),
        })
        .collect();
    let Ok(shared) = Redaction::new(&rules, &known, RedactConfig::default()) else {
        return;
    };
    let shared = Arc::new(shared);
    let log = build_log(16 << 20);
    let mut group = c.benchmark_group("redact");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("build_log_1000_values", |b| {
        b.iter(|| {
            let mut r = StreamRedactor::new(Arc::clone(&shared));
            let mut out = Vec::with_capacity(1 << 20);
            for chunk in log.chunks(64 * 1024) {
                r.push(chunk, &mut out);
                out.clear();
            }
            r.finish(&mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, redact_throughput);
criterion_main!(benches);
