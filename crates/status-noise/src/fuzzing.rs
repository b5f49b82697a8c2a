//! Entry points for the fuzz targets in `fuzz/` and the corpus replay in
//! `tests/fuzz_corpus.rs`. Not a stable API. They panic only when an invariant of this
//! crate is broken (that is what a fuzzer looks for); peer input alone never panics.
#![allow(clippy::panic)]

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

use crate::cipher::sha256;
use crate::{
    HandshakeBuilder, HandshakeState, Keypair, MessageNametag, Pattern, PayloadV2, Psk, Role,
};

/// A deterministic generator (SHA-256 in counter mode) so that fuzz runs reproduce.
/// Not for real use.
pub struct TestRng {
    seed: [u8; 32],
    counter: u64,
}

impl TestRng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Self {
            seed: sha256(&[&seed.to_le_bytes()]),
            counter: 0,
        }
    }
}

impl TryRng for TestRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(32) {
            let block = sha256(&[&self.seed, &self.counter.to_le_bytes()]);
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// Decodes arbitrary bytes as a PayloadV2; whatever decodes must re-encode to the same
/// bytes (the decoder rejects trailing bytes and non-canonical forms).
pub fn payload_v2(data: &[u8]) {
    if let Ok(p) = PayloadV2::decode(data) {
        let again = p.encode().unwrap_or_default();
        if again != data {
            panic!("decode/encode is not the identity");
        }
    }
}

/// Two honest parties with fixed keys for `pattern`.
pub fn honest_pair(pattern: Pattern) -> (HandshakeState, HandshakeState) {
    let (i, r, e) = (
        Keypair::from_secret_bytes([1; 32]),
        Keypair::from_secret_bytes([2; 32]),
        Keypair::from_secret_bytes([3; 32]),
    );
    let mut bi = HandshakeBuilder::new(pattern, Role::Initiator).local_static(i.clone());
    let mut br = HandshakeBuilder::new(pattern, Role::Responder).local_static(r.clone());
    match pattern {
        Pattern::K1K1 => {
            bi = bi.remote_static(*r.public());
            br = br.remote_static(*i.public());
        }
        Pattern::XK1 => bi = bi.remote_static(*r.public()),
        Pattern::XXpsk0 => {
            bi = bi.psk(Psk::from_bytes([9; 32]));
            br = br.psk(Psk::from_bytes([9; 32]));
        }
        Pattern::WakuPairing => {
            bi = bi.remote_ephemeral(*e.public());
            br = br.local_ephemeral(e);
        }
        Pattern::XX => {}
    }
    match (bi.build(), br.build()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => panic!("honest pair must build"),
    }
}

fn nametag(hs: &HandshakeState) -> MessageNametag {
    if hs.message_index() == 0 {
        MessageNametag::ZERO
    } else {
        hs.derived_nametag()
    }
}

/// A handshake and a session driven by fuzz input. Byte 0 picks the pattern; then each
/// byte is an operation: deliver the next genuine message, deliver it with a byte
/// flipped, deliver attacker bytes, or replay an old message. Forged input must be
/// rejected without changing the receiver (the genuine message is still accepted
/// afterwards), and the honest parties must always finish and talk.
pub fn handshake(data: &[u8]) {
    let Some((&first, mut ops)) = data.split_first() else {
        return;
    };
    let pattern = Pattern::ALL[usize::from(first) % Pattern::ALL.len()];
    let mut rng = TestRng::new(u64::from(first));
    let (mut i, mut r) = honest_pair(pattern);
    let mut sent: Vec<Vec<u8>> = Vec::new();
    for n in 0..pattern.message_count() {
        let (w, rd) = if n % 2 == 0 {
            (&mut i, &mut r)
        } else {
            (&mut r, &mut i)
        };
        let tag = nametag(w);
        let Ok(m) = w.write_message(b"fuzz payload", tag, &mut rng) else {
            panic!("honest write failed");
        };
        let wire = m.encode().unwrap_or_default();
        // Up to 4 forgeries before the genuine message.
        for _ in 0..4 {
            let Some((&op, rest)) = ops.split_first() else {
                break;
            };
            ops = rest;
            let forged = match op % 4 {
                0 => break,
                1 => {
                    let mut bad = wire.clone();
                    let pos = usize::from(rest.first().copied().unwrap_or(0)) * 7 % bad.len();
                    bad[pos] ^= 1 << (op % 8);
                    bad
                }
                2 => {
                    let len = usize::from(rest.first().copied().unwrap_or(0)).min(rest.len());
                    rest.get(..len).unwrap_or_default().to_vec()
                }
                _ => sent.last().cloned().unwrap_or_default(),
            };
            let h = rd.handshake_hash();
            let idx = rd.message_index();
            if let Ok(p) = PayloadV2::decode(&forged)
                && forged != wire
                && rd.read_message(&p, &tag).is_ok()
            {
                // Only message 1 of K1K1/XK1/XX is unauthenticated: a changed
                // ephemeral key or payload there is accepted by design (Noise).
                let unauthenticated =
                    n == 0 && matches!(pattern, Pattern::K1K1 | Pattern::XK1 | Pattern::XX);
                if !unauthenticated {
                    panic!("forged handshake message accepted");
                }
                return;
            }
            if rd.handshake_hash() != h || rd.message_index() != idx {
                panic!("rejected message changed the state");
            }
        }
        let Ok(p) = PayloadV2::decode(&wire) else {
            panic!("own message does not decode");
        };
        match rd.read_message(&p, &tag) {
            Ok(payload) if payload == b"fuzz payload" => {}
            _ => panic!("genuine message rejected after forgeries"),
        }
        sent.push(wire);
    }
    let (Ok(mut ti), Ok(mut tr)) = (i.into_transport(), r.into_transport()) else {
        panic!("finished handshake did not split");
    };
    // Transport: forged bytes never decrypt; genuine ones do.
    for (k, chunk) in ops.chunks(8).take(16).enumerate() {
        let Ok(m) = ti.encrypt(chunk) else {
            panic!("encrypt failed")
        };
        let wire = m.encode().unwrap_or_default();
        let mut bad = wire.clone();
        let pos = usize::from(chunk.first().copied().unwrap_or(0)) * 3 % bad.len();
        bad[pos] ^= 0x80;
        if let Ok(p) = PayloadV2::decode(&bad)
            && tr.decrypt(&p).is_ok()
        {
            panic!("forged transport message accepted");
        }
        if tr.received() != k as u64 {
            panic!("rejected transport message moved the window");
        }
        match tr.decrypt(&m) {
            Ok(pt) if pt == chunk => {}
            _ => panic!("genuine transport message rejected"),
        }
    }
}

/// cargo-fuzz target `stored`: arbitrary bytes as a stored transport session (what a
/// node reads back from its database) and as a pairing QR string (what a camera reads).
/// A restored session serializes to bytes that restore to the same session; a parsed
/// QR prints to a string that parses to the same QR.
pub fn stored(data: &[u8]) {
    if let Ok(s) = crate::TransportSession::from_bytes(data) {
        let once = s.to_bytes();
        let Ok(again) = crate::TransportSession::from_bytes(&once) else {
            panic!("a serialized session does not restore");
        };
        if again.to_bytes() != once {
            panic!("restore/serialize is not stable");
        }
    }
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(qr) = text.parse::<crate::Qr>()
    {
        let printed = qr.to_string();
        let Ok(again) = printed.parse::<crate::Qr>() else {
            panic!("a printed QR does not parse");
        };
        if again.to_string() != printed {
            panic!("QR print/parse is not stable");
        }
    }
}
