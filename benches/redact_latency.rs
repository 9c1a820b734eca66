//! Latency of `leakscrub redact`: how long after a line's newline is
//! written into the pipe does the redacted line come out the other side.
//! Run with `cargo bench --bench redact_latency`; prints p50/p99/max.
//!
//! Lines are written at a steady pace (one per millisecond, like a busy
//! build), some holding a registered value or a token, each tagged with a
//! sequence number that the redactor leaves alone. Every few hundred lines
//! a private-key header (bare, or with text after it) is printed untagged:
//! the tagged lines after it must not wait for an END marker.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LINES: usize = 3000;
const VALUE: &str = "s3cr3t-Vq9xLm2Rt7Kp";

fn main() {
    let bin = env!("CARGO_BIN_EXE_leakscrub");
    let mut child = match Command::new(bin)
        .args(["redact", "--value-env", "BENCH_SECRET", "--flush-ms", "100"])
        .env("BENCH_SECRET", VALUE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("redact_latency: cannot start {bin}: {e}");
            std::process::exit(2);
        }
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        eprintln!("redact_latency: no pipes");
        std::process::exit(2);
    };
    let (tx, rx) = mpsc::channel::<(usize, Instant)>();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::with_capacity(LINES);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let now = Instant::now();
            if let Some(seq) = line
                .split_whitespace()
                .next()
                .and_then(|s| s.strip_prefix('#'))
                .and_then(|s| s.parse::<usize>().ok())
            {
                seen.push((seq, now));
            }
        }
        seen
    });
    let start = Instant::now();
    for i in 0..LINES {
        let body = match i % 50 {
            0 => format!("export TOKEN={VALUE} done"),
            1 => "Compiling serde v1.0.200 (registry)".to_string(),
            _ => format!("   test module_{i}::case ... ok ({} ms)", i % 97),
        };
        let mut line = format!("#{i} {body}\n");
        match i % 300 {
            7 => line.insert_str(0, "-----BEGIN OPENSSH PRIVATE KEY-----\n"),
            157 => line.insert_str(0, "-----BEGIN RSA PRIVATE KEY----- (example header)\n"),
            _ => {}
        }
        let due = start + Duration::from_millis(i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent = Instant::now();
        if stdin.write_all(line.as_bytes()).is_err() || stdin.flush().is_err() {
            break;
        }
        let _ = tx.send((i, sent));
    }
    drop(stdin);
    drop(tx);
    let seen = reader.join().unwrap_or_default();
    let _ = child.wait();
    let sent: Vec<(usize, Instant)> = rx.iter().collect();
    let mut lat: Vec<f64> = seen
        .iter()
        .filter_map(|(seq, got)| {
            sent.get(*seq)
                .map(|(_, t)| got.duration_since(*t).as_secs_f64() * 1e3)
        })
        .collect();
    if lat.len() != LINES {
        eprintln!("redact_latency: {} of {LINES} lines came back", lat.len());
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    if lat.is_empty() {
        eprintln!("redact_latency: no lines came back");
        std::process::exit(1);
    }
    println!(
        "redact latency over {} lines: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}
