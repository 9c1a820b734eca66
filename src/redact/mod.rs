//! The streaming redactor: replaces secrets in a byte stream as it flows,
//! sharing the scanner's compiled rule set.

pub mod encodings;
pub mod values;
