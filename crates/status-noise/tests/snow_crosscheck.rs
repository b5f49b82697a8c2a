//! Plain-Noise mode against `snow`: every handshake message, the handshake hash and both
//! split keys byte for byte, for XX, XK1, K1K1 and XXpsk0, in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use status_noise::{HandshakeBuilder, Keypair, Pattern, PlainHandshake, Psk, Role};

fn key(label: u8) -> [u8; 32] {
    let mut k = [label; 32];
    k[0] = 0x40 ^ label;
    k
}

struct Keys {
    i_s: [u8; 32],
    i_e: [u8; 32],
    r_s: [u8; 32],
    r_e: [u8; 32],
    psk: [u8; 32],
}

fn ours(pattern: Pattern, role: Role, k: &Keys, prologue: &[u8]) -> PlainHandshake {
    let (s, e, rs) = match role {
        Role::Initiator => (k.i_s, k.i_e, k.r_s),
        Role::Responder => (k.r_s, k.r_e, k.i_s),
    };
    let mut b = HandshakeBuilder::new(pattern, role)
        .prologue(prologue)
        .local_static(Keypair::from_secret_bytes(s))
        .local_ephemeral(Keypair::from_secret_bytes(e));
    if pattern.needs_remote_static(role) {
        b = b.remote_static(*Keypair::from_secret_bytes(rs).public());
    }
    if pattern.has_psk() {
        b = b.psk(Psk::from_bytes(k.psk));
    }
    b.build_plain().unwrap()
}

fn snow_side(pattern: Pattern, role: Role, k: &Keys, prologue: &[u8]) -> snow::HandshakeState {
    let (s, e, rs) = match role {
        Role::Initiator => (k.i_s, k.i_e, k.r_s),
        Role::Responder => (k.r_s, k.r_e, k.i_s),
    };
    let params: snow::params::NoiseParams = pattern.protocol_name().parse().unwrap();
    let mut b = snow::Builder::new(params)
        .prologue(prologue)
        .unwrap()
        .local_private_key(&s)
        .unwrap()
        .fixed_ephemeral_key_for_testing_only(&e);
    let rs_pub = *Keypair::from_secret_bytes(rs).public();
    if pattern.needs_remote_static(role) {
        b = b.remote_public_key(&rs_pub).unwrap();
    }
    if pattern.has_psk() {
        b = b.psk(0, &k.psk).unwrap();
    }
    match role {
        Role::Initiator => b.build_initiator().unwrap(),
        Role::Responder => b.build_responder().unwrap(),
    }
}

/// Runs `pattern` with ours playing `our_role` and snow the other side; asserts that our
/// messages equal what snow produces for the same keys, by running a second, all-snow
/// reference handshake.
fn cross_check(pattern: Pattern, our_role: Role, seed: u8) {
    let k = Keys {
        i_s: key(seed),
        i_e: key(seed.wrapping_add(1)),
        r_s: key(seed.wrapping_add(2)),
        r_e: key(seed.wrapping_add(3)),
        psk: key(seed.wrapping_add(4)),
    };
    let prologue = [seed, 1, 2, 3];
    // Reference transcript: snow on both sides.
    let mut si = snow_side(pattern, Role::Initiator, &k, &prologue);
    let mut sr = snow_side(pattern, Role::Responder, &k, &prologue);
    // Ours on one side, snow on the other.
    let mut me = ours(pattern, our_role, &k, &prologue);
    let mut peer = snow_side(pattern, our_role.peer(), &k, &prologue);
    let mut rng = StdRng::seed_from_u64(u64::from(seed));
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    for i in 0..pattern.message_count() {
        let payload = format!("payload {i} of {}", pattern.name()).into_bytes();
        let writer_is_initiator = i % 2 == 0;
        // reference
        let (rw, rr) = if writer_is_initiator {
            (&mut si, &mut sr)
        } else {
            (&mut sr, &mut si)
        };
        let n = rw.write_message(&payload, &mut buf).unwrap();
        let reference = buf[..n].to_vec();
        rr.read_message(&reference, &mut out).unwrap();
        let we_write = (our_role == Role::Initiator) == writer_is_initiator;
        if we_write {
            let msg = me.write_message(&payload, &mut rng).unwrap();
            assert_eq!(
                hex::encode(&msg),
                hex::encode(&reference),
                "{pattern:?} message {i}"
            );
            let m = peer.read_message(&msg, &mut out).unwrap();
            assert_eq!(&out[..m], &payload[..]);
        } else {
            let n = peer.write_message(&payload, &mut buf).unwrap();
            assert_eq!(&buf[..n], &reference[..]);
            let got = me.read_message(&buf[..n]).unwrap();
            assert_eq!(got, payload);
        }
        assert_eq!(
            me.handshake_hash(),
            <[u8; 32]>::try_from(peer.get_handshake_hash()).unwrap()
        );
    }
    assert!(me.is_finished());
    let h = me.handshake_hash();
    let (k1, k2) = si.dangerously_get_raw_split();
    let mut t = me.into_transport().unwrap();
    assert_eq!(t.handshake_hash(), h);
    let (send, recv) = t.dangerous_keys_for_testing_only();
    let (exp_send, exp_recv) = match our_role {
        Role::Initiator => (k1, k2),
        Role::Responder => (k2, k1),
    };
    assert_eq!(send, exp_send, "{pattern:?} send key");
    assert_eq!(recv, exp_recv, "{pattern:?} recv key");
    // Transport both ways with snow.
    let mut peer = peer.into_transport_mode().unwrap();
    let ct = t.encrypt(b"hello snow").unwrap();
    let n = peer.read_message(&ct, &mut out).unwrap();
    assert_eq!(&out[..n], b"hello snow");
    let n = peer.write_message(b"hello ours", &mut buf).unwrap();
    assert_eq!(t.decrypt(&buf[..n]).unwrap(), b"hello ours");
}

#[test]
fn matches_snow_all_patterns_both_roles() {
    for pattern in [Pattern::XX, Pattern::XK1, Pattern::K1K1, Pattern::XXpsk0] {
        for role in [Role::Initiator, Role::Responder] {
            for seed in [1u8, 77] {
                cross_check(pattern, role, seed);
            }
        }
    }
}

#[test]
fn tampered_message_rejected_without_state_change() {
    let k = Keys {
        i_s: key(5),
        i_e: key(6),
        r_s: key(7),
        r_e: key(8),
        psk: key(9),
    };
    let mut i = ours(Pattern::XX, Role::Initiator, &k, b"");
    let mut r = ours(Pattern::XX, Role::Responder, &k, b"");
    let mut rng = StdRng::seed_from_u64(1);
    let m1 = i.write_message(b"", &mut rng).unwrap();
    r.read_message(&m1).unwrap();
    let m2 = r.write_message(b"x", &mut rng).unwrap();
    let h = i.handshake_hash();
    for pos in [0, 40, m2.len() - 1] {
        let mut bad = m2.clone();
        bad[pos] ^= 0x80;
        assert!(i.read_message(&bad).is_err());
        assert_eq!(i.handshake_hash(), h);
    }
    assert!(i.read_message(&m2[..50]).is_err());
    assert_eq!(i.read_message(&m2).unwrap(), b"x");
}
