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

/// A pairing message in flight: who sends it (0 = initiator A, 1 = responder B), which
/// of the three it is, and its wire bytes.
#[derive(Clone)]
struct PairingFlight {
    to_b: bool,
    wire: Vec<u8>,
}

/// The two devices of a pairing (43): B shows the QR code, A scans it.
struct PairingRun {
    a: crate::PairingInitiator,
    b: crate::PairingResponder,
    rng: TestRng,
    /// Messages sent and not yet delivered, dropped or lost.
    in_flight: Vec<PairingFlight>,
    /// Messages delivered (for replays).
    delivered: Vec<PairingFlight>,
    /// A message was dropped or a person rejected the auth code: the run cannot finish.
    broken: bool,
    a_confirmed: bool,
}

impl PairingRun {
    fn new(seed: u8) -> Self {
        let mut rng = TestRng::new(u64::from(seed));
        let kb = Keypair::generate(&mut rng);
        let ka = Keypair::generate(&mut rng);
        let Ok(b) =
            crate::PairingResponder::generate(kb, crate::PairingParams::default(), &mut rng)
        else {
            panic!("responder must build");
        };
        let qr = b.qr().to_string();
        let Ok(a) = crate::PairingInitiator::new(ka, &qr, b.qr_nametag(), [seed; 32]) else {
            panic!("initiator must read the responder's QR");
        };
        PairingRun {
            a,
            b,
            rng,
            in_flight: Vec::new(),
            delivered: Vec::new(),
            broken: false,
            a_confirmed: false,
        }
    }

    fn send(&mut self, to_b: bool, msg: &PayloadV2) {
        let Ok(wire) = msg.encode() else {
            panic!("own pairing message does not encode");
        };
        self.in_flight.push(PairingFlight { to_b, wire });
    }

    /// Offers `wire` to the device it is meant for, in whatever phase it is.
    fn offer(&mut self, to_b: bool, wire: &[u8]) -> bool {
        let Ok(msg) = PayloadV2::decode(wire) else {
            return false;
        };
        if to_b {
            match self.b.handle_message1(&msg) {
                Ok(_) => true,
                Err(crate::PairingError::WrongPhase) => self.b.handle_message3(&msg).is_ok(),
                Err(_) => false,
            }
        } else {
            match self.a.handle_message2(&msg, &mut self.rng) {
                Ok(m3) => {
                    self.send(true, &m3);
                    true
                }
                Err(_) => false,
            }
        }
    }

    /// Offers a forged or replayed message: it must be rejected and change nothing.
    fn offer_forged(&mut self, to_b: bool, wire: &[u8]) {
        let before = (
            self.a.handshake().handshake_hash(),
            self.a.handshake().message_index(),
            self.b.handshake().handshake_hash(),
            self.b.handshake().message_index(),
            self.a.is_done(),
            self.b.is_done(),
        );
        let sent = self.in_flight.len();
        if self.offer(to_b, wire) {
            panic!("a forged or replayed pairing message was accepted");
        }
        let after = (
            self.a.handshake().handshake_hash(),
            self.a.handshake().message_index(),
            self.b.handshake().handshake_hash(),
            self.b.handshake().message_index(),
            self.a.is_done(),
            self.b.is_done(),
        );
        if before != after || self.in_flight.len() != sent {
            panic!("a rejected pairing message changed a device");
        }
    }

    /// Runs the remaining honest steps in order: both sides confirm, every message in
    /// flight is delivered.
    fn finish(&mut self) {
        for _ in 0..8 {
            if self.a.auth_code().is_none() {
                let Ok((m1, _)) = self.a.start(&mut self.rng) else {
                    panic!("honest start failed");
                };
                self.send(true, &m1);
            }
            if !self.a_confirmed {
                self.confirm_a();
            }
            if self.b.auth_code().is_some() {
                self.confirm_b();
            }
            let flights = core::mem::take(&mut self.in_flight);
            for f in flights {
                if !self.offer(f.to_b, &f.wire) {
                    panic!("a genuine pairing message was rejected");
                }
                self.delivered.push(f);
            }
        }
    }

    fn confirm_a(&mut self) {
        if self.a.auth_code().is_some() && self.a.confirm_auth_code(true).is_ok() {
            self.a_confirmed = true;
        }
    }

    fn confirm_b(&mut self) {
        let (Some(ca), Some(cb)) = (self.a.auth_code(), self.b.auth_code()) else {
            return;
        };
        if ca != cb {
            panic!("honest devices show different auth codes");
        }
        if let Ok(m2) = self.b.confirm_auth_code(true, &mut self.rng) {
            self.send(false, &m2);
        }
    }
}

/// cargo-fuzz target `pairing`: the 43 device pairing driven by the input. Byte 0 seeds
/// the keys; then each pair of bytes is an operation: A starts, A or B confirms the auth
/// code (or, rarely, rejects it), a message in flight is delivered (any order), dropped,
/// delivered with one bit flipped first, replayed after delivery, or replaced by attacker
/// bytes. Forged, tampered and replayed messages are rejected and change nothing; when no
/// message was dropped and no code rejected, the run completes honestly and both
/// devices get transport sessions that talk to each other.
pub fn pairing(data: &[u8]) {
    let Some((&seed, script)) = data.split_first() else {
        return;
    };
    let mut run = PairingRun::new(seed);
    let mut bytes = script.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = usize::from(bytes.next().unwrap_or(0));
        match op % 8 {
            0 => {
                if let Ok((m1, _)) = run.a.start(&mut run.rng) {
                    run.send(true, &m1);
                }
            }
            1 => {
                if arg == 0xff {
                    // The person says the codes differ: A aborts.
                    if run.a.confirm_auth_code(false).is_ok() {
                        panic!("a rejected auth code confirmed");
                    }
                    if run.a.auth_code().is_some() && !run.a_confirmed {
                        run.broken = true;
                        return;
                    }
                } else {
                    run.confirm_a();
                }
            }
            2 => run.confirm_b(),
            3 | 4 => {
                if run.in_flight.is_empty() {
                    continue;
                }
                let f = run.in_flight.remove(arg % run.in_flight.len());
                if op % 8 == 4 {
                    let mut bad = f.wire.clone();
                    let pos = usize::from(bytes.next().unwrap_or(0)) * 5 % bad.len();
                    bad[pos] ^= 1 << (bytes.next().unwrap_or(0) % 8);
                    run.offer_forged(f.to_b, &bad);
                }
                if run.offer(f.to_b, &f.wire) {
                    run.delivered.push(f);
                } else {
                    // Delivered before its predecessor (or the auth code is not yet
                    // confirmed): the device ignored it; it stays in flight.
                    run.in_flight.push(f);
                }
            }
            5 => {
                if !run.in_flight.is_empty() {
                    run.in_flight.remove(arg % run.in_flight.len());
                    run.broken = true;
                }
            }
            6 => {
                if !run.delivered.is_empty() {
                    let f = run.delivered[arg % run.delivered.len()].clone();
                    run.offer_forged(f.to_b, &f.wire);
                }
            }
            _ => {
                let len = arg.min(bytes.len());
                let junk: Vec<u8> = bytes.by_ref().take(len).collect();
                run.offer_forged(arg % 2 == 0, &junk);
            }
        }
    }
    if run.broken {
        return;
    }
    run.finish();
    if !(run.a.is_done() && run.b.is_done()) {
        panic!("an honest pairing did not complete");
    }
    let (Ok(mut ta), Ok(mut tb)) = (run.a.into_session(), run.b.into_session()) else {
        panic!("a finished pairing gave no session");
    };
    for (from_a, text) in [(true, &b"one"[..]), (false, b"two"), (true, b"three")] {
        let (s, r) = if from_a {
            (&mut ta, &mut tb)
        } else {
            (&mut tb, &mut ta)
        };
        let Ok(m) = s.encrypt(text) else {
            panic!("paired encrypt failed");
        };
        match r.decrypt(&m) {
            Ok(pt) if pt == text => {}
            _ => panic!("paired devices cannot talk"),
        }
    }
}
