//! A small binary codec for the store records: big-endian integers, `u32`-length-prefixed
//! byte strings, every length checked against a cap before anything is allocated.

use zeroize::Zeroizing;

/// Why a stored record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record ends early.
    #[error("record is truncated")]
    Truncated,
    /// The record has bytes after its end.
    #[error("record has {0} trailing bytes")]
    Trailing(usize),
    /// The record was written by an unknown format version.
    #[error("unknown record version {0}")]
    Version(u8),
    /// A length or count exceeds its cap.
    #[error("{what} of {got} exceeds the cap of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The length or count found.
        got: usize,
        /// The cap.
        max: usize,
    },
    /// A field holds a value that is not allowed (bad key, bad flag, bad UTF-8 …).
    #[error("invalid {0}")]
    Invalid(&'static str),
}

pub(crate) struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

impl Writer {
    pub(crate) fn new(version: u8) -> Self {
        let mut buf = Zeroizing::new(Vec::with_capacity(256));
        buf.push(version);
        Writer { buf }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
        }
    }

    pub(crate) fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        // Every record field is far below 4 GiB (callers cap their inputs).
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
    }

    pub(crate) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    pub(crate) fn opt_str(&mut self, v: Option<&str>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.str(v);
            }
        }
    }

    pub(crate) fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub(crate) fn finish(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading a record, checking its version byte.
    pub(crate) fn new(bytes: &'a [u8], version: u8) -> Result<Self, RecordError> {
        let (&v, rest) = bytes.split_first().ok_or(RecordError::Truncated)?;
        if v != version {
            return Err(RecordError::Version(v));
        }
        Ok(Reader { rest })
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or(RecordError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, RecordError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordError::Invalid("flag")),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn opt_i64(&mut self) -> Result<Option<i64>, RecordError> {
        if self.bool()? {
            Ok(Some(self.i64()?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn bytes(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<&'a [u8], RecordError> {
        let len = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        if len > max {
            return Err(RecordError::TooLarge {
                what,
                got: len,
                max,
            });
        }
        self.take(len)
    }

    pub(crate) fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, RecordError> {
        core::str::from_utf8(self.bytes(what, max)?).map_err(|_| RecordError::Invalid(what))
    }

    pub(crate) fn opt_str(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<Option<&'a str>, RecordError> {
        if self.bool()? {
            Ok(Some(self.str(what, max)?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn count(&mut self, what: &'static str, max: usize) -> Result<usize, RecordError> {
        let n = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        if n > max {
            return Err(RecordError::TooLarge { what, got: n, max });
        }
        Ok(n)
    }

    pub(crate) fn finish(self) -> Result<(), RecordError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(RecordError::Trailing(self.rest.len()))
        }
    }
}
