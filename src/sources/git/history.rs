//! Blobs reachable from a repository's refs, each scanned once, with the
//! commit that introduced it.
