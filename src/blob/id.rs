//! A blob's content identity: two blobs with the same id hold the same
//! bytes, wherever they were reached.

use std::fmt;

/// What makes two blobs one. Sources that know a content identity (a git
/// object id, a layer digest and path) can name it; others hash the bytes
/// they read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlobId {
    /// xxh3-128 of the bytes as read: fast enough to run on every file
    /// read whole, and wide enough that two different files do not
    /// collide in any tree.
    Content(u128),
    /// A git object id (SHA-1): the repository already names each blob by
    /// its content.
    Git([u8; 20]),
}

impl BlobId {
    pub fn of_bytes(bytes: &[u8]) -> BlobId {
        BlobId::Content(xxhash_rust::xxh3::xxh3_128(bytes))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobId::Content(h) => write!(f, "content:{h:032x}"),
            BlobId::Git(oid) => {
                f.write_str("git:")?;
                oid.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_id_and_one_byte_changes_it() {
        let a = BlobId::of_bytes(b"DB_PASSWORD=hunter2\n");
        assert_eq!(a, BlobId::of_bytes(b"DB_PASSWORD=hunter2\n"));
        assert_ne!(a, BlobId::of_bytes(b"DB_PASSWORD=hunter3\n"));
    }
}
