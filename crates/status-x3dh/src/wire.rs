//! A minimal, panic-free protobuf wire reader, used only where prost's decoding loses
//! information we must check: prost folds repeated map keys (last one wins), but a bundle
//! with a duplicate installation id must be rejected (DESIGN.md rule 4).

/// The input is not well-formed protobuf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self.bytes.split_first().ok_or(Malformed)?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Malformed> {
        let n = usize::try_from(n).map_err(|_| Malformed)?;
        if n > self.bytes.len() {
            return Err(Malformed);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// The next field: its number and, for length-delimited fields, its bytes.
    fn field(&mut self) -> Result<(u64, Option<&'a [u8]>), Malformed> {
        let tag = self.varint()?;
        let number = tag >> 3;
        match tag & 7 {
            0 => {
                self.varint()?;
                Ok((number, None))
            }
            1 => {
                self.take(8)?;
                Ok((number, None))
            }
            2 => {
                let len = self.varint()?;
                Ok((number, Some(self.take(len)?)))
            }
            5 => {
                self.take(4)?;
                Ok((number, None))
            }
            _ => Err(Malformed),
        }
    }
}

/// The keys (field 1 of each entry, last one wins as in protobuf) of the map field
/// `field` of the message `bytes`, in wire order. A missing key is the empty string.
pub(crate) fn map_keys(bytes: &[u8], field: u64) -> Result<Vec<&[u8]>, Malformed> {
    let mut reader = Reader { bytes };
    let mut keys = Vec::new();
    while !reader.bytes.is_empty() {
        if let (number, Some(entry)) = reader.field()?
            && number == field
        {
            let mut entry_reader = Reader { bytes: entry };
            let mut key: &[u8] = &[];
            while !entry_reader.bytes.is_empty() {
                if let (1, Some(k)) = entry_reader.field()? {
                    key = k;
                }
            }
            keys.push(key);
        }
    }
    Ok(keys)
}

/// True if `keys` holds a repeated value.
pub(crate) fn has_duplicates(keys: &mut [&[u8]]) -> bool {
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_map_keys() {
        // field 2, entry {1: "a", 2: {}} twice.
        let entry = [0x0a, 0x01, b'a', 0x12, 0x00];
        let mut msg = vec![0x12, entry.len() as u8];
        msg.extend_from_slice(&entry);
        msg.extend_from_slice(&[0x12, entry.len() as u8]);
        msg.extend_from_slice(&entry);
        msg.extend_from_slice(&[0x28, 0x05]); // field 5 varint
        let mut keys = map_keys(&msg, 2).unwrap();
        assert_eq!(keys, vec![b"a".as_slice(), b"a".as_slice()]);
        assert!(has_duplicates(&mut keys));
        assert_eq!(map_keys(&[0x12, 0x05], 2), Err(Malformed));
        assert_eq!(map_keys(&[0xff; 11], 2), Err(Malformed));
    }
}
