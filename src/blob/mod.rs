//! Blobs and the stage every source's blobs go through before the engine:
//! archive descent ([`archive`]) and decoding ([`decode`]).

pub mod archive;
pub mod decode;
pub mod id;
pub mod spool;
pub mod stage;

/// One link of a blob's provenance chain, outermost first: the input a
/// source read, then the archive members it was unpacked from, then the
/// encodings it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A file, log or stream a source read.
    File { path: String },
    /// A member of the archive the previous link is.
    Member { path: String },
    /// Text decoded from an encoded run of the previous link.
    Decoded { encoding: &'static str },
}
