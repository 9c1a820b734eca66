//! Fuzzes the scan path: arbitrary bytes through the chunked file reader and
//! the log normaliser, with tiny chunks so chunk edges fall everywhere.
//! Every finding's position must lie inside the input.
#![no_main]

use std::sync::{Arc, OnceLock};

use leakscrub::engine::Engine;
use leakscrub::rules::{load_rule_set, LoadOptions};
use leakscrub::scan::Scanner;
use leakscrub::sources::{feed_reader, log::scan_log_stream, Provenance};
use libfuzzer_sys::fuzz_target;

fn engine() -> Option<Arc<Engine>> {
    static ENGINE: OnceLock<Option<Arc<Engine>>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let rules = load_rule_set(&LoadOptions::default()).ok()?;
            Engine::new(Arc::new(rules)).ok().map(Arc::new)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = engine() else { return };
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let prov = Provenance::path("fuzz");

    let scanner = Scanner::new(Arc::clone(&engine), false);
    let _ = feed_reader(data, &prov, &scanner, 4096, 2);
    let (findings, _) = scanner.finish();
    for f in &findings {
        assert!(f.line >= 1 && f.line <= lines && f.end_line <= lines);
    }

    let scanner = Scanner::new(Arc::clone(&engine), false);
    let _ = scan_log_stream(data, &prov, 4096, &scanner);
    let (findings, _) = scanner.finish();
    for f in &findings {
        assert!(f.line >= 1 && f.line <= lines && f.end_line <= lines);
    }
});
