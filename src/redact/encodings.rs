//! Every form in which a known secret value can show up in build output.

/// The byte strings under which `value` may appear in output: the value
/// itself and each of its encodings.
pub fn needles_for(value: &[u8]) -> Vec<Vec<u8>> {
    vec![value.to_vec()]
}
