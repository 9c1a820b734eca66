//! Fuzzes the streaming redactor: the input is split into values, a text
//! and read sizes; whatever the split, the output must equal one-shot
//! redaction and contain no registered value.
#![no_main]

use std::sync::{Arc, OnceLock};

use leakscrub::redact::values::KnownValue;
use leakscrub::redact::{redact_all, RedactConfig, Redaction, StreamRedactor};
use leakscrub::rules::{load_rule_set, LoadOptions, RuleSet};
use libfuzzer_sys::fuzz_target;

/// The default rules, loaded once: loading them per input would leave the
/// fuzzer a few hundred runs a minute.
fn rules() -> Option<&'static RuleSet> {
    static RULES: OnceLock<Option<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| load_rule_set(&LoadOptions::default()).ok())
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    // Layout: [n_values] then n_values x ([len] value), then [n_sizes]
    // read sizes, then the text. Bit 2 of n_values puts a private-key
    // BEGIN line before the text, bit 3 an upper-case, indented
    // `::add-mask::` command: random bytes rarely spell either.
    let Some((&n_values, mut rest)) = data.split_first() else {
        return;
    };
    let mut values = Vec::new();
    for i in 0..(n_values % 4) {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len % 24) + 6;
        if tail.len() < len {
            return;
        }
        values.push(KnownValue {
            name: format!("V{i}"),
            value: tail[..len].to_vec(),
        });
        rest = &tail[len..];
    }
    let Some((&n_sizes, tail)) = rest.split_first() else {
        return;
    };
    let n_sizes = usize::from(n_sizes % 16).min(tail.len());
    let (sizes, body) = tail.split_at(n_sizes);
    let mut text = Vec::with_capacity(body.len() + 48);
    if n_values & 4 != 0 {
        text.extend_from_slice(b"-----BEGIN RSA PRIVATE KEY-----\n");
    }
    if n_values & 8 != 0 {
        text.extend_from_slice(b"  ::ADD-MASK::");
    }
    text.extend_from_slice(body);
    let text = &text[..];

    let Some(rules) = rules() else {
        return;
    };
    let Ok(shared) = Redaction::new(rules, &values, RedactConfig::default()) else {
        return;
    };
    let shared = Arc::new(shared);
    let one_shot = redact_all(&shared, text);

    let mut r = StreamRedactor::new(Arc::clone(&shared));
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < text.len() {
        let size = sizes.get(i % sizes.len().max(1)).map_or(1, |&s| usize::from(s) + 1);
        let end = (at + size).min(text.len());
        r.push(&text[at..end], &mut out);
        if size % 3 == 0 {
            r.flush_partial(&mut out);
        }
        at = end;
        i += 1;
    }
    r.finish(&mut out);
    assert!(out == one_shot, "chunked output differs from one-shot output");
    // A dropped `::add-mask::` line joins its neighbours, and a value made
    // of `*` or escape sequences can be formed by the output itself, so
    // those cases only get the equality check.
    if !text
        .windows(12)
        .any(|w| w.eq_ignore_ascii_case(b"::add-mask::"))
    {
        for v in values
            .iter()
            .filter(|v| !v.value.iter().any(|&b| b == b'*' || b == 0x1b))
        {
            assert!(
                !out.windows(v.value.len()).any(|w| w.eq_ignore_ascii_case(&v.value)),
                "a registered value is in the output"
            );
        }
    }
});
