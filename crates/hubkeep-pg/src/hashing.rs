//! A reader that hashes (BLAKE3) and counts what passes through it, so a
//! stream is checksummed and its rows counted on the way into the sink or
//! into the server, without a second pass and without a temp file.

use std::io::{self, Read};

pub struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    bytes: u64,
    newlines: u64,
    /// Set at the first end of stream: some readers (a COPY OUT stream)
    /// fail when read again after their end, so the end is remembered.
    done: bool,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
            newlines: 0,
            done: false,
        }
    }

    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// In COPY text format every row ends with exactly one newline (a
    /// newline inside a value is written `\n`), so this is the row count.
    pub fn rows(&self) -> u64 {
        self.newlines
    }

    pub fn hex_digest(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }

    /// True when the inner reader has nothing left: a consumer that stopped
    /// early must not leave a truncated stream looking complete.
    pub fn at_end(&mut self) -> io::Result<bool> {
        let mut probe = [0u8; 1];
        loop {
            match self.read(&mut probe) {
                Ok(n) => return Ok(n == 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.done = n == 0;
        let data = &buf[..n];
        self.hasher.update(data);
        self.bytes += n as u64;
        self.newlines += data.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_bytes_and_hashes_what_passes() {
        let data = b"1\tone\n2\ttwo\\nlines\n";
        let mut r = HashingReader::new(&data[..]);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.rows(), 2);
        assert_eq!(r.byte_count(), data.len() as u64);
        assert_eq!(r.hex_digest(), blake3::hash(data).to_hex().to_string());
        assert!(r.at_end().unwrap());
    }
}
