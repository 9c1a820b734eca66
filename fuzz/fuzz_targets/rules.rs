//! Fuzzes rule-file parsing and compilation (leakscrub and gitleaks TOML):
//! any text must give rules or an error, never a panic or a hang.
#![no_main]

use leakscrub::rules::load::{build_rule_set, parse_rule_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = parse_rule_file(text, "fuzz.toml") {
        let _ = build_rule_set(&[("fuzz.toml".to_string(), file)], &[]);
    }
});
