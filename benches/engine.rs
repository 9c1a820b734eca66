//! Engine throughput on generated, realistic text (source code, YAML/JSON
//! config, build logs, each with a few planted credentials) and the cost of
//! compiling the rule set.
//!
//! `cargo bench --bench engine`. Set `LEAKSCRUB_BENCH_CONFIG=FILE` to add a
//! rule file on top of the defaults, as `--config` does.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscrub::engine::checksum::make_github_style_token;
use leakscrub::engine::Engine;
use leakscrub::rules::{load_rule_set, LoadOptions, RuleSet};

/// Bytes of text per workload: large enough that per-call overhead is noise.
const WORKLOAD_BYTES: usize = 4 * 1024 * 1024;

/// A small deterministic generator, so every run scans the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn word(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const IDENTS: &[&str] = &[
    "config",
    "request",
    "response",
    "handler",
    "client",
    "token",
    "key",
    "authConfig",
    "secretName",
    "password_hint",
    "buffer",
    "ctx",
    "opts",
    "cache_key",
    "index",
    "value",
];

/// A credential-looking line, planted rarely.
fn planted(rng: &mut Lcg) -> String {
    match rng.below(4) {
        0 => format!(
            "AWS_ACCESS_KEY_ID=AKIA{}",
            rng.word(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        ),
        1 => format!(
            "export GITHUB_TOKEN={}",
            make_github_style_token("ghp_", &rng.word(B62, 30))
        ),
        2 => format!(
            "DATABASE_URL=postgres://app:{}@db.internal:5432/app",
            rng.word(B62, 18)
        ),
        _ => format!("api_key = \"{}\"", rng.word(B62, 32)),
    }
}

fn source_line(rng: &mut Lcg) -> String {
    let a = rng.pick(IDENTS);
    let b = rng.pick(IDENTS);
    match rng.below(8) {
        0 => format!("func (s *Server) {a}({b} context.Context) error {{"),
        1 => format!("\tif err := s.{a}.Validate({b}); err != nil {{"),
        2 => format!("\t\treturn fmt.Errorf(\"{a}: invalid {b}: %w\", err)"),
        3 => format!("    let {a} = {b}.get(\"{a}\").ok_or_else(|| anyhow!(\"missing {b}\"))?;"),
        4 => format!("// {a} is refreshed when the {b} expires; see RFC 6749 section 6."),
        5 => format!("    def {a}(self, {b}: str) -> Optional[str]:"),
        6 => format!("import {{ {a} }} from './{b}';"),
        _ => "}".to_string(),
    }
}

fn config_line(rng: &mut Lcg) -> String {
    let a = rng.pick(IDENTS);
    match rng.below(7) {
        0 => format!("  {a}: ${{{{ secrets.{} }}}}", a.to_uppercase()),
        1 => format!("    \"{a}\": \"{}\",", rng.word(HEX, 8)),
        2 => format!(
            "  - name: {a}\n    image: registry.example.com/{a}:{}",
            rng.below(40)
        ),
        3 => format!("{a}_timeout_seconds = {}", rng.below(300)),
        4 => format!("      \"integrity\": \"sha512-{}==\",", rng.word(B62, 86)),
        5 => format!(
            "  {a}_uuid: {}-{}-4{}",
            rng.word(HEX, 8),
            rng.word(HEX, 4),
            rng.word(HEX, 3)
        ),
        _ => format!("  password: \"{{{{ vault_{a} }}}}\""),
    }
}

fn log_line(rng: &mut Lcg) -> String {
    let stamp = format!(
        "2024-05-01T{:02}:{:02}:{:02}.{:07}Z ",
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(10_000_000)
    );
    let body = match rng.below(6) {
        0 => format!(
            "\x1b[1m\x1b[32m   Compiling\x1b[0m {} v1.{}.{}",
            rng.pick(IDENTS),
            rng.below(40),
            rng.below(20)
        ),
        1 => format!("Cache restored from key: Linux-cargo-{}", rng.word(HEX, 64)),
        2 => format!(
            "tests/test_{}.py::test_{} \x1b[32mPASSED\x1b[0m [{:3}%]",
            rng.pick(IDENTS),
            rng.pick(IDENTS),
            rng.below(100)
        ),
        3 => format!(
            "#{} sha256:{} {}MB / 900MB",
            rng.below(30),
            rng.word(HEX, 64),
            rng.below(900)
        ),
        4 => "npm WARN deprecated request@2.88.2: request has been deprecated".to_string(),
        _ => format!(
            "Downloading [=====>      ] {}% eta {}s\r",
            rng.below(100),
            rng.below(60)
        ),
    };
    stamp + &body
}

/// About `WORKLOAD_BYTES` of lines from `line`, with a planted credential
/// every `plant_every` lines.
fn workload(seed: u64, plant_every: usize, line: fn(&mut Lcg) -> String) -> Vec<u8> {
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(WORKLOAD_BYTES + 256);
    let mut n = 0usize;
    while out.len() < WORKLOAD_BYTES {
        n += 1;
        let l = if n % plant_every == 0 {
            planted(&mut rng)
        } else {
            line(&mut rng)
        };
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

fn load_options() -> LoadOptions {
    LoadOptions {
        config: std::env::var_os("LEAKSCRUB_BENCH_CONFIG").map(PathBuf::from),
        no_defaults: false,
    }
}

fn rule_set() -> RuleSet {
    match load_rule_set(&load_options()) {
        Ok(r) => r,
        Err(e) => panic!("cannot load the benchmark rule set: {e:#}"),
    }
}

fn bench_scan(c: &mut Criterion) {
    let engine = match Engine::new(Arc::new(rule_set())) {
        Ok(e) => e,
        Err(e) => panic!("cannot build the engine: {e:#}"),
    };
    let workloads: [(&str, &str, Vec<u8>); 3] = [
        ("source", "src/server.go", workload(1, 2000, source_line)),
        (
            "config",
            "deploy/values.yaml",
            workload(2, 500, config_line),
        ),
        ("build_log", "build.log", workload(3, 3000, log_line)),
    ];
    let mut group = c.benchmark_group("engine_scan");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, path, data) in &workloads {
        // A workload where nothing is planted would measure nothing useful.
        assert!(
            !engine.scan(data, Some(path)).is_empty(),
            "{name}: no planted credential was found"
        );
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| black_box(engine.scan(black_box(data), Some(path))))
        });
    }
    group.finish();
}

fn bench_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("load_and_compile", |b| {
        b.iter(|| {
            let rules = rule_set();
            black_box(Engine::new(Arc::new(rules)).is_ok())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_scan, bench_compile);
criterion_main!(benches);
