//! PayloadV2: the payload of a version-2 Waku message (35), exactly as `@waku/noise`
//! serializes it, and PKCS#7 padding to 248-byte blocks.

use crate::nametag::MessageNametag;

/// Protocol id of an after-handshake (transport) message.
pub const PROTOCOL_ID_TRANSPORT: u8 = 0;
/// Protocol id `ChaChaPoly` (declared by 35; `@waku/noise` never produces it).
pub const PROTOCOL_ID_CHACHAPOLY: u8 = 30;
/// The padding block size of 35.
pub const PADDING_BLOCK_BYTES: usize = 248;
/// Length of the fixed header before the handshake message.
const HEADER_BYTES: usize = 16 + 1 + 1;

/// A public key carried in a handshake message.
#[derive(Clone, PartialEq, Eq)]
pub enum HandshakeKey {
    /// Flag 0: the 32-byte X25519 public key in clear.
    Clear([u8; 32]),
    /// Flag 1: the key encrypted: 32 ciphertext bytes then the 16-byte tag.
    Encrypted([u8; 48]),
}

impl core::fmt::Debug for HandshakeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (name, bytes): (&str, &[u8]) = match self {
            HandshakeKey::Clear(k) => ("Clear", k),
            HandshakeKey::Encrypted(k) => ("Encrypted", k),
        };
        write!(f, "{name}(")?;
        for b in bytes {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl HandshakeKey {
    /// Serialized length including the flag byte.
    pub fn encoded_len(&self) -> usize {
        match self {
            HandshakeKey::Clear(_) => 33,
            HandshakeKey::Encrypted(_) => 49,
        }
    }

    /// The key bytes without the flag (32 or 48 bytes).
    pub fn bytes(&self) -> &[u8] {
        match self {
            HandshakeKey::Clear(k) => k,
            HandshakeKey::Encrypted(k) => k,
        }
    }
}

/// A decoded PayloadV2.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PayloadV2 {
    /// The 16-byte message nametag.
    pub nametag: MessageNametag,
    /// The protocol id (0, 10..=14 or 30).
    pub protocol_id: u8,
    /// The handshake message: public keys (empty for transport messages).
    pub handshake_message: Vec<HandshakeKey>,
    /// The handshake payload or transport ciphertext (tag last, when encrypted).
    pub transport_message: Vec<u8>,
}

/// Why a PayloadV2 could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before a field does.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A protocol id other than 0, 10–14 and 30.
    #[error("unknown protocol id {0}")]
    UnknownProtocolId(u8),
    /// A key flag other than 0 and 1.
    #[error("invalid key flag {0}")]
    InvalidKeyFlag(u8),
    /// The keys do not fill `handshake_message_len` exactly, or keys are present for a
    /// protocol id that carries none.
    #[error("handshake message length {0} does not match its keys")]
    HandshakeLength(u8),
    /// `transport_message_len` differs from the bytes that follow (trailing or missing bytes).
    #[error("transport length {declared} but {remaining} bytes follow")]
    TransportLength {
        /// The declared length.
        declared: u64,
        /// The bytes actually left.
        remaining: usize,
    },
}

/// Why an encode failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The keys take more than 255 bytes.
    #[error("handshake message too long ({0} bytes)")]
    HandshakeTooLong(usize),
}

fn key_size(protocol_id: u8) -> Result<usize, DecodeError> {
    match protocol_id {
        10..=14 => Ok(32),
        PROTOCOL_ID_TRANSPORT | PROTOCOL_ID_CHACHAPOLY => Ok(0),
        other => Err(DecodeError::UnknownProtocolId(other)),
    }
}

impl PayloadV2 {
    /// A transport (after-handshake) message.
    pub fn transport(nametag: MessageNametag, ciphertext: Vec<u8>) -> Self {
        Self {
            nametag,
            protocol_id: PROTOCOL_ID_TRANSPORT,
            handshake_message: Vec::new(),
            transport_message: ciphertext,
        }
    }

    /// Serialized length.
    pub fn encoded_len(&self) -> usize {
        HEADER_BYTES
            + self
                .handshake_message
                .iter()
                .map(HandshakeKey::encoded_len)
                .sum::<usize>()
            + 8
            + self.transport_message.len()
    }

    /// Serializes: `nametag(16) || protocol_id || hs_len || keys || u64 LE len || transport`.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let hs_len: usize = self
            .handshake_message
            .iter()
            .map(HandshakeKey::encoded_len)
            .sum();
        let hs_len_byte =
            u8::try_from(hs_len).map_err(|_| EncodeError::HandshakeTooLong(hs_len))?;
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(self.nametag.as_bytes());
        out.push(self.protocol_id);
        out.push(hs_len_byte);
        for key in &self.handshake_message {
            match key {
                HandshakeKey::Clear(k) => {
                    out.push(0);
                    out.extend_from_slice(k);
                }
                HandshakeKey::Encrypted(k) => {
                    out.push(1);
                    out.extend_from_slice(k);
                }
            }
        }
        out.extend_from_slice(&(self.transport_message.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.transport_message);
        Ok(out)
    }

    /// Parses a serialized PayloadV2. Never panics; rejects unknown protocol ids, bad key
    /// flags, keys that do not fill the declared length and any trailing byte.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let nametag = MessageNametag::from_bytes(r.array::<16>()?);
        let protocol_id = r.byte()?;
        let key_size = key_size(protocol_id)?;
        let hs_len = r.byte()?;
        let hs = r.take(usize::from(hs_len))?;
        if key_size == 0 && hs_len != 0 {
            return Err(DecodeError::HandshakeLength(hs_len));
        }
        let mut keys = Vec::new();
        let mut k = Reader { bytes: hs, pos: 0 };
        while k.pos < hs.len() {
            let key = match k.byte()? {
                0 => HandshakeKey::Clear(
                    k.array::<32>()
                        .map_err(|_| DecodeError::HandshakeLength(hs_len))?,
                ),
                1 => HandshakeKey::Encrypted(
                    k.array::<48>()
                        .map_err(|_| DecodeError::HandshakeLength(hs_len))?,
                ),
                flag => return Err(DecodeError::InvalidKeyFlag(flag)),
            };
            keys.push(key);
        }
        let declared = u64::from_le_bytes(r.array::<8>()?);
        let remaining = bytes.len() - r.pos;
        if u64::try_from(remaining).ok() != Some(declared) {
            return Err(DecodeError::TransportLength {
                declared,
                remaining,
            });
        }
        let transport_message = r.take(remaining)?.to_vec();
        Ok(Self {
            nametag,
            protocol_id,
            handshake_message: keys,
            transport_message,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(DecodeError::Truncated(self.bytes.len()))?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

/// Appends PKCS#7 padding to a multiple of 248 bytes (1 to 248 bytes, each equal to the
/// pad length; an empty input becomes 248 bytes of `0xf8`).
pub fn pad(buf: &mut Vec<u8>) {
    let p = PADDING_BLOCK_BYTES - buf.len() % PADDING_BLOCK_BYTES;
    // p is in 1..=248, so it fits in a byte.
    buf.resize(buf.len() + p, p as u8);
}

/// Why padding was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid PKCS#7 padding")]
pub struct PaddingError;

/// Removes PKCS#7 padding (strict: the length is a positive multiple of 248, the pad length
/// is 1..=248 and every pad byte equals it).
pub fn unpad(buf: &mut Vec<u8>) -> Result<(), PaddingError> {
    if buf.is_empty() || !buf.len().is_multiple_of(PADDING_BLOCK_BYTES) {
        return Err(PaddingError);
    }
    let p = usize::from(*buf.last().ok_or(PaddingError)?);
    if p == 0 || p > PADDING_BLOCK_BYTES || p > buf.len() {
        return Err(PaddingError);
    }
    let start = buf.len() - p;
    if buf
        .get(start..)
        .is_none_or(|tail| tail.iter().any(|b| usize::from(*b) != p))
    {
        return Err(PaddingError);
    }
    buf.truncate(start);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_examples() {
        let mut v = Vec::new();
        pad(&mut v);
        assert_eq!(v, vec![0xf8; 248]);
        unpad(&mut v).unwrap();
        assert!(v.is_empty());
        let mut v = vec![1u8; 248];
        pad(&mut v);
        assert_eq!(v.len(), 496);
        let mut v = vec![1u8; 247];
        pad(&mut v);
        assert_eq!(v.len(), 248);
        assert_eq!(v[247], 1);
        let mut bad = vec![0u8; 248];
        assert_eq!(unpad(&mut bad), Err(PaddingError));
        let mut bad = vec![3u8; 247];
        assert_eq!(unpad(&mut bad), Err(PaddingError));
    }

    #[test]
    fn decode_rejects_trailing_and_unknown() {
        let p = PayloadV2 {
            nametag: MessageNametag::from_bytes([9; 16]),
            protocol_id: 12,
            handshake_message: vec![
                HandshakeKey::Clear([1; 32]),
                HandshakeKey::Encrypted([2; 48]),
            ],
            transport_message: vec![5; 264],
        };
        let mut bytes = p.encode().unwrap();
        assert_eq!(bytes.len(), 372);
        assert_eq!(PayloadV2::decode(&bytes).unwrap(), p);
        bytes.push(0);
        assert!(matches!(
            PayloadV2::decode(&bytes),
            Err(DecodeError::TransportLength { .. })
        ));
        bytes.pop();
        bytes[16] = 15;
        assert_eq!(
            PayloadV2::decode(&bytes),
            Err(DecodeError::UnknownProtocolId(15))
        );
        bytes[16] = 0;
        assert_eq!(
            PayloadV2::decode(&bytes),
            Err(DecodeError::HandshakeLength(82))
        );
        bytes[16] = 12;
        bytes[18] = 2;
        assert_eq!(
            PayloadV2::decode(&bytes),
            Err(DecodeError::InvalidKeyFlag(2))
        );
        for n in 0..bytes.len() {
            assert!(PayloadV2::decode(&bytes[..n]).is_err());
        }
    }
}
