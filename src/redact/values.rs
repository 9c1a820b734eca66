//! Known secret values: from named environment variables, environment
//! globs, and values files.

use std::path::PathBuf;

/// A secret value to mask, with the name it is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownValue {
    pub name: String,
    pub value: Vec<u8>,
}

/// Where known values come from (`--value-env`, `--values-from-env`,
/// `--values-file`).
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
    pub env_names: Vec<String>,
    pub env_globs: Vec<String>,
    pub files: Vec<PathBuf>,
    pub min_length: usize,
}

/// Gathers the known values; `warn` receives messages (never a value).
pub fn collect(
    sources: &ValueSources,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Vec<KnownValue>> {
    let _ = (sources, warn);
    Ok(Vec::new())
}
