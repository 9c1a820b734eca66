//! A stream held so that it can be read again from anywhere, as a zip's
//! central directory at its end requires: in memory while it is small, in
//! an unnamed temporary file once it is not, so a large archive nested in
//! another costs disk, not memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes held in memory before the rest goes to a temporary file.
pub const IN_MEMORY: usize = 16 << 20;

/// A stream's bytes, readable and seekable.
pub enum Spool {
    Memory(Cursor<Vec<u8>>),
    File(File),
}

impl Spool {
    /// Reads `reader` to its end, or to `cap` bytes and one more. Returns
    /// the bytes held and how many there were; more than `cap` means the
    /// stream was longer and the rest was not read.
    pub fn read_up_to(reader: &mut dyn Read, cap: u64) -> io::Result<(Spool, u64)> {
        let limit = cap.saturating_add(1);
        let mut head = Vec::new();
        let first = limit.min(IN_MEMORY as u64 + 1);
        reader.take(first).read_to_end(&mut head)?;
        let held = head.len() as u64;
        if held <= IN_MEMORY as u64 || held >= limit {
            return Ok((Spool::Memory(Cursor::new(head)), held));
        }
        let mut file = anonymous_file()?;
        file.write_all(&head)?;
        drop(head);
        let rest = io::copy(&mut reader.take(limit - held), &mut file)?;
        file.seek(SeekFrom::Start(0))?;
        Ok((Spool::File(file), held + rest))
    }
}

impl Read for Spool {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Spool::Memory(c) => c.read(buf),
            Spool::File(f) => f.read(buf),
        }
    }
}

impl Seek for Spool {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Spool::Memory(c) => c.seek(pos),
            Spool::File(f) => f.seek(pos),
        }
    }
}

/// A new file in the system's temporary folder, already unlinked where the
/// system allows it (its space is freed when it is closed, whatever way
/// the process ends).
fn anonymous_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..64u32 {
        let path = dir.join(format!(
            ".leakscrub-spool-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                // Where an open file cannot be removed it stays until the
                // system cleans its temporary folder.
                let _ = std::fs::remove_file(&path);
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name for a temporary file",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_streams_stay_in_memory_large_ones_go_to_a_file() {
        let small = vec![7u8; 1000];
        let (spool, n) = Spool::read_up_to(&mut &small[..], 1 << 30).unwrap();
        assert_eq!(n, 1000);
        assert!(matches!(spool, Spool::Memory(_)));

        let large: Vec<u8> = (0..IN_MEMORY + 5000).map(|i| (i % 251) as u8).collect();
        let (mut spool, n) = Spool::read_up_to(&mut &large[..], 1 << 30).unwrap();
        assert_eq!(n, large.len() as u64);
        assert!(matches!(spool, Spool::File(_)));
        let mut back = Vec::new();
        spool.read_to_end(&mut back).unwrap();
        assert!(back == large);
        spool.seek(SeekFrom::Start(IN_MEMORY as u64)).unwrap();
        let mut byte = [0u8; 1];
        spool.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], (IN_MEMORY % 251) as u8);
    }

    #[test]
    fn reading_stops_one_byte_past_the_cap() {
        let data = vec![1u8; 500];
        let (_, n) = Spool::read_up_to(&mut &data[..], 100).unwrap();
        assert_eq!(n, 101);
    }
}
