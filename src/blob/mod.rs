//! Blobs and the stage every source's blobs go through before the engine:
//! archive descent ([`archive`]) and decoding ([`decode`]).

pub mod archive;
pub mod decode;
pub mod id;
pub mod spool;
pub mod stage;

use std::fs::File;
use std::io::Read;

use crate::sources::Provenance;
use id::BlobId;

/// The unit every source hands to the shared stage
/// ([`stage::scan_blob`]): bytes with where they came from and, where the
/// source knows one, their content identity.
pub struct Blob<'a> {
    /// The blob's identity when the source has one (a git object id, a
    /// layer digest and path); otherwise the stage hashes what it holds
    /// whole.
    pub id: Option<BlobId>,
    pub provenance: Provenance,
    pub content: Content<'a>,
}

/// How a blob's bytes can be read.
pub enum Content<'a> {
    /// All of it, in memory.
    Bytes(&'a [u8]),
    /// A regular file, read from its start; `size` is its length when the
    /// source knows it, and lets the stage pick how to read it.
    File { file: &'a mut File, size: u64 },
    /// A stream that can be read once (a pipe, stdin, a FIFO).
    Stream(&'a mut dyn Read),
}

/// One link of a blob's provenance chain, outermost first: the input a
/// source read, then the archive members it was unpacked from, then the
/// encodings it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A file, log or stream a source read.
    File { path: String },
    /// A blob of a git repository: the file at `path` as commit `commit`
    /// introduced it.
    GitBlob { commit: String, path: String },
    /// A file at `path` in the image layer `digest`, `index` from the base.
    Layer {
        digest: String,
        index: usize,
        path: String,
    },
    /// A member of the archive the previous link is.
    Member { path: String },
    /// Text decoded from an encoded run of the previous link.
    Decoded { encoding: &'static str },
}
