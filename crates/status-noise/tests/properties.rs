//! Property tests: round trips, tampering rejected without state change, out-of-window
//! nametags rejected, sessions restored after a restart, pairing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use status_noise::payload::{pad, unpad};
use status_noise::{
    HandshakeBuilder, HandshakeKey, HandshakeState, Keypair, MessageNametag, NametagError,
    PairingError, PairingInitiator, PairingParams, PairingResponder, Pattern, PayloadV2, Psk, Role,
    TransportError, TransportSession,
};

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes([seed; 32])
}

fn pair(pattern: Pattern, window: usize) -> (HandshakeState, HandshakeState) {
    let (i, r) = (kp(1), kp(2));
    let mut bi = HandshakeBuilder::new(pattern, Role::Initiator)
        .prologue(b"prologue")
        .nametag_window(window)
        .local_static(i.clone());
    let mut br = HandshakeBuilder::new(pattern, Role::Responder)
        .prologue(b"prologue")
        .nametag_window(window)
        .local_static(r.clone());
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
            let e = kp(3);
            bi = bi.remote_ephemeral(*e.public());
            br = br.local_ephemeral(e);
        }
        Pattern::XX => {}
    }
    (bi.build().unwrap(), br.build().unwrap())
}

fn tag(hs: &HandshakeState) -> MessageNametag {
    if hs.message_index() == 0 {
        MessageNametag::from_bytes([7; 16])
    } else {
        hs.derived_nametag()
    }
}

/// Runs a handshake, returning both sessions.
fn handshake(
    pattern: Pattern,
    payloads: &[Vec<u8>],
    rng: &mut StdRng,
) -> (TransportSession, TransportSession) {
    let (mut i, mut r) = pair(pattern, 50);
    for n in 0..pattern.message_count() {
        let (w, rd) = if n % 2 == 0 {
            (&mut i, &mut r)
        } else {
            (&mut r, &mut i)
        };
        let t = tag(w);
        let p = payloads.get(n).cloned().unwrap_or_default();
        let m = w.write_message(&p, t, rng).unwrap();
        let wire = m.encode().unwrap();
        let got = rd
            .read_message(&PayloadV2::decode(&wire).unwrap(), &t)
            .unwrap();
        assert_eq!(got, p);
    }
    assert_eq!(i.handshake_hash(), r.handshake_hash());
    (i.into_transport().unwrap(), r.into_transport().unwrap())
}

fn arb_pattern() -> impl Strategy<Value = Pattern> {
    prop::sample::select(Pattern::ALL.to_vec())
}

fn arb_payload_v2() -> impl Strategy<Value = PayloadV2> {
    let key = prop_oneof![
        any::<[u8; 32]>().prop_map(HandshakeKey::Clear),
        prop::collection::vec(any::<u8>(), 48)
            .prop_map(|v| HandshakeKey::Encrypted(v.try_into().unwrap())),
    ];
    (
        any::<[u8; 16]>(),
        prop::sample::select(vec![10u8, 11, 12, 13, 14]),
        prop::collection::vec(key, 0..4),
        prop::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(t, id, keys, tm)| PayloadV2 {
            nametag: MessageNametag::from_bytes(t),
            protocol_id: id,
            handshake_message: keys,
            transport_message: tm,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn payload_v2_round_trip(p in arb_payload_v2()) {
        let bytes = p.encode().unwrap();
        prop_assert_eq!(bytes.len(), p.encoded_len());
        prop_assert_eq!(PayloadV2::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn payload_v2_decoder_total(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(p) = PayloadV2::decode(&bytes) {
            prop_assert_eq!(p.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn padding_round_trip(data in prop::collection::vec(any::<u8>(), 0..800)) {
        let mut v = data.clone();
        pad(&mut v);
        prop_assert!(v.len() % 248 == 0 && v.len() > data.len());
        unpad(&mut v).unwrap();
        prop_assert_eq!(v, data);
    }
}

proptest! {
    // Each case runs whole handshakes: fewer cases.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn handshake_and_transport_round_trip(
        pattern in arb_pattern(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 3),
        msgs in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..600)), 1..8),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut i, mut r) = handshake(pattern, &payloads, &mut rng);
        for (from_i, m) in msgs {
            let (a, b) = if from_i { (&mut i, &mut r) } else { (&mut r, &mut i) };
            let wire = a.encrypt(&m).unwrap().encode().unwrap();
            prop_assert_eq!(b.decrypt(&PayloadV2::decode(&wire).unwrap()).unwrap(), m);
        }
    }

    #[test]
    fn tampered_handshake_message_rejected_without_state_change(
        pattern in arb_pattern(),
        step in 0usize..3,
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut i, mut r) = pair(pattern, 50);
        for n in 0..pattern.message_count() {
            let (w, rd) = if n % 2 == 0 { (&mut i, &mut r) } else { (&mut r, &mut i) };
            let t = tag(w);
            let m = w.write_message(b"payload", t, &mut rng).unwrap();
            let wire = m.encode().unwrap();
            if n == step {
                let mut bad = wire.clone();
                let pos = flip.index(bad.len());
                bad[pos] ^= 1 << bit;
                let h = rd.handshake_hash();
                let idx = rd.message_index();
                if let Ok(p) = PayloadV2::decode(&bad) {
                    // Message 1 of K1K1, XK1 and XX has no key yet: its ephemeral key
                    // and payload are not authenticated (Noise), so a flip there may pass.
                    let unauthenticated = n == 0
                        && matches!(pattern, Pattern::K1K1 | Pattern::XK1 | Pattern::XX)
                        && pos >= 18;
                    match rd.read_message(&p, &t) {
                        Ok(_) => {
                            prop_assert!(unauthenticated, "accepted a flip at byte {}", pos);
                            return Ok(());
                        }
                        Err(_) => {
                            prop_assert_eq!(rd.handshake_hash(), h);
                            prop_assert_eq!(rd.message_index(), idx);
                        }
                    }
                }
            }
            rd.read_message(&m, &t).unwrap();
        }
    }

    #[test]
    fn tampered_transport_rejected_without_state_change(
        pattern in arb_pattern(),
        flip in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut i, mut r) = handshake(pattern, &[], &mut rng);
        let wire = i.encrypt(b"secret").unwrap().encode().unwrap();
        let mut bad = wire.clone();
        let pos = flip.index(bad.len());
        bad[pos] ^= 0x01;
        if let Ok(p) = PayloadV2::decode(&bad) {
            prop_assert!(r.decrypt(&p).is_err());
        }
        prop_assert_eq!(r.received(), 0);
        prop_assert_eq!(r.decrypt(&PayloadV2::decode(&wire).unwrap()).unwrap(), b"secret");
    }

    #[test]
    fn out_of_window_nametags_rejected(
        window in 1usize..60,
        ahead in 1usize..80,
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut i, mut r) = pair(Pattern::XX, window);
        for n in 0..3 {
            let (w, rd) = if n % 2 == 0 { (&mut i, &mut r) } else { (&mut r, &mut i) };
            let t = tag(w);
            let m = w.write_message(b"", t, &mut rng).unwrap();
            rd.read_message(&m, &t).unwrap();
        }
        let (mut i, mut r) = (i.into_transport().unwrap(), r.into_transport().unwrap());
        let mut sent = Vec::new();
        for k in 0..=ahead {
            sent.push(i.encrypt(format!("m{k}").as_bytes()).unwrap());
        }
        let late = &sent[ahead];
        let got = r.decrypt(late);
        if ahead < window {
            prop_assert_eq!(got, Err(TransportError::Nametag(NametagError::MessagesProbablyLost { position: ahead })));
            r.skip_inbound(ahead).unwrap();
            prop_assert_eq!(r.decrypt(late).unwrap(), format!("m{ahead}").into_bytes());
        } else {
            prop_assert_eq!(got, Err(TransportError::Nametag(NametagError::Unknown)));
            prop_assert_eq!(r.received(), 0);
            prop_assert_eq!(r.decrypt(&sent[0]).unwrap(), b"m0");
        }
    }
}

#[test]
fn session_survives_restart() {
    let mut rng = StdRng::seed_from_u64(5);
    let (mut i, mut r) = handshake(Pattern::XK1, &[], &mut rng);
    let m = i.encrypt(b"one").unwrap();
    r.decrypt(&m).unwrap();
    let id = r.session_id();
    assert_eq!(i.session_id(), id);
    assert!(
        id.content_topic("app", "1")
            .starts_with("/app/1/wakunoise/1/sessions/")
    );
    assert!(id.content_topic("app", "1").ends_with("/proto"));
    assert!(id.is_termination_token(&id.termination_token()));
    let saved = r.to_bytes();
    drop(r);
    let mut r = TransportSession::from_bytes(&saved).unwrap();
    assert_eq!(r.session_id(), id);
    let m = i.encrypt(b"two").unwrap();
    assert_eq!(r.decrypt(&m).unwrap(), b"two");
    let back = r.encrypt(b"three").unwrap();
    assert_eq!(i.decrypt(&back).unwrap(), b"three");
    // Corrupt or truncated bytes are refused.
    assert!(TransportSession::from_bytes(&saved[..saved.len() - 1]).is_err());
    let mut bad = saved.to_vec();
    bad[4] = 99;
    assert!(TransportSession::from_bytes(&bad).is_err());
}

#[test]
fn pairing_flow_and_failures() {
    let mut rng = StdRng::seed_from_u64(11);
    let params = PairingParams::default();
    let mut b = PairingResponder::generate(kp(20), params.clone(), &mut rng).unwrap();
    let qr = b.qr().to_string();
    assert_eq!(qr.split(':').count(), 5);
    assert_eq!(qr.parse::<status_noise::Qr>().unwrap(), *b.qr());
    assert_eq!(
        b.content_topic(),
        "/waku-noise-sessions/0.1/wakunoise/1/sessions_shard-10/proto"
    );
    let mut a = PairingInitiator::new(kp(21), &qr, b.qr_nametag(), [5; 32]).unwrap();
    let (m1, code_a) = a.start(&mut rng).unwrap();
    // A message with another nametag is ignored without changing B.
    let mut stray = m1.clone();
    stray.nametag = MessageNametag::from_bytes([0; 16]);
    assert!(b.handle_message1(&stray).is_err());
    let code_b = b.handle_message1(&m1).unwrap();
    assert_eq!(code_a, code_b);
    assert_eq!(code_a.len(), 8);
    assert!(code_a.bytes().all(|c| c.is_ascii_digit()));
    // Nothing moves before the person confirms.
    assert_eq!(
        a.handle_message2(&m1, &mut rng).err(),
        Some(PairingError::WrongPhase)
    );
    a.confirm_auth_code(true).unwrap();
    let m2 = b.confirm_auth_code(true, &mut rng).unwrap();
    // Anyone can compute message 2's nametag: a forgery is dropped, the pairing goes on.
    let mut forged = m2.clone();
    forged.transport_message[0] ^= 1;
    assert!(a.handle_message2(&forged, &mut rng).is_err());
    let m3 = a.handle_message2(&m2, &mut rng).unwrap();
    let mut forged = m3.clone();
    forged.transport_message[5] ^= 1;
    assert!(b.handle_message3(&forged).is_err());
    assert!(!b.is_done());
    b.handle_message3(&m3).unwrap();
    let (mut sa, mut sb) = (a.into_session().unwrap(), b.into_session().unwrap());
    assert_eq!(sa.remote_static(), *kp(20).public());
    assert_eq!(sb.remote_static(), *kp(21).public());
    let m = sa.encrypt(b"paired").unwrap();
    assert_eq!(sb.decrypt(&m).unwrap(), b"paired");

    // B's static key does not open the QR commitment: A aborts before revealing its own.
    let mut b = PairingResponder::new(
        kp(20),
        kp(22),
        params.clone(),
        [1; 32],
        MessageNametag::from_bytes([3; 16]),
    )
    .unwrap();
    let mut forged_qr = b.qr().clone();
    forged_qr.committed_static_key = [0; 32];
    let mut a =
        PairingInitiator::new(kp(21), &forged_qr.to_string(), b.qr_nametag(), [5; 32]).unwrap();
    let (m1, _) = a.start(&mut rng).unwrap();
    // B saw another prologue (its own QR), so message 1 does not authenticate.
    assert!(b.handle_message1(&m1).is_err());

    // Rejected auth code aborts.
    let mut b = PairingResponder::generate(kp(20), params, &mut rng).unwrap();
    let mut a =
        PairingInitiator::new(kp(21), &b.qr().to_string(), b.qr_nametag(), [5; 32]).unwrap();
    let (m1, _) = a.start(&mut rng).unwrap();
    b.handle_message1(&m1).unwrap();
    assert_eq!(
        b.confirm_auth_code(false, &mut rng).err(),
        Some(PairingError::AuthCodeRejected)
    );

    for bad in ["", "a:b", "a:b:c:d:e", "YQ==:YQ==:YQ==:YQ==:YQ=="] {
        assert!(bad.parse::<status_noise::Qr>().is_err(), "{bad}");
    }
}
