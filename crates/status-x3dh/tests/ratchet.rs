//! X3DH and the Double Ratchet: agreement, out-of-order delivery, caps, replays,
//! tampering, counters and state serialization.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, pair, party, rng};
use status_x3dh::hazmat;
use status_x3dh::{
    DecryptError, EncryptError, EncryptedMessage, Inconsistency, InstallationId, MAX_SKIPPED_KEYS,
    RespondError, Role, Session, StateError, X3dhError, X25519PublicKey,
};

#[test]
fn x3dh_agrees_and_ad_is_initiator_then_responder() {
    let mut rng = rng(10);
    let alice = party(&mut rng, "a");
    let bob = party(&mut rng, "b");
    let a = Session::initiate(&mut rng, &alice.identity, &bob.bundle, &bob.device).unwrap();
    let mut ad = alice.identity.public_key().to_bytes().to_vec();
    ad.extend_from_slice(bob.identity.public_key().as_bytes());
    assert_eq!(a.associated_data().as_slice(), ad.as_slice());
    assert_eq!(a.role(), Role::Initiator);
    assert!(!a.is_confirmed());
    assert_eq!(a.bundle_id(), &bob.prekey.public().key);
    let unknown = InstallationId::new("nope").unwrap();
    assert!(matches!(
        Session::initiate(&mut rng, &alice.identity, &bob.bundle, &unknown),
        Err(X3dhError::UnknownInstallation(_))
    ));
}

#[test]
fn first_messages_carry_x3dh_until_answered() {
    let mut rng = rng(11);
    let alice = party(&mut rng, "a");
    let bob = party(&mut rng, "b");
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle, &bob.device).unwrap();
    let m1 = a.encrypt(&mut rng, b"1").unwrap();
    let m2 = a.encrypt(&mut rng, b"2").unwrap();
    assert!(m1.x3dh.is_some() && m2.x3dh == m1.x3dh);
    assert_ne!(m1.x3dh.unwrap().ephemeral_key, m1.header.ratchet_key);
    // Bob answers the second message first.
    let (mut b, pt) = Session::respond(&bob.identity, &bob.prekey, &alice.bundle, &m2).unwrap();
    assert_eq!(pt, b"2");
    assert_eq!(b.role(), Role::Responder);
    assert_eq!(b.decrypt(&m1).unwrap(), b"1");
    assert_eq!(b.decrypt(&m1), Err(DecryptError::Replay { n: 0 }));
    let r = b.encrypt(&mut rng, b"r").unwrap();
    assert!(r.x3dh.is_none());
    assert_eq!(a.decrypt(&r).unwrap(), b"r");
    assert!(a.is_confirmed());
    assert!(a.encrypt(&mut rng, b"3").unwrap().x3dh.is_none());
}

#[test]
fn respond_checks() {
    let mut rng = rng(12);
    let alice = party(&mut rng, "a");
    let bob = party(&mut rng, "b");
    let carol = party(&mut rng, "c");
    let mut a = Session::initiate(&mut rng, &alice.identity, &bob.bundle, &bob.device).unwrap();
    let m = a.encrypt(&mut rng, b"x").unwrap();
    let mut no_x3dh = m.clone();
    no_x3dh.x3dh = None;
    assert_eq!(
        Session::respond(&bob.identity, &bob.prekey, &alice.bundle, &no_x3dh).unwrap_err(),
        RespondError::MissingX3dhHeader
    );
    assert_eq!(
        Session::respond(&carol.identity, &carol.prekey, &alice.bundle, &m).unwrap_err(),
        RespondError::WrongPreKey
    );
    // The wrong initiator identity gives another SK: the message does not decrypt.
    assert_eq!(
        Session::respond(&bob.identity, &bob.prekey, &carol.bundle, &m).unwrap_err(),
        RespondError::Decrypt(DecryptError::Authentication)
    );
    // An all-zero ephemeral key is refused.
    let mut zero = m.clone();
    zero.x3dh.as_mut().unwrap().ephemeral_key = X25519PublicKey::from_bytes([0; 32]);
    assert_eq!(
        Session::respond(&bob.identity, &bob.prekey, &alice.bundle, &zero).unwrap_err(),
        RespondError::NonContributory
    );
}

#[test]
fn long_conversation_with_ping_pong_and_bursts() {
    let mut rng = rng(13);
    let (mut a, mut b) = pair(&mut rng);
    for round in 0..20u32 {
        for i in 0..(round % 4) {
            let m = a
                .encrypt(&mut rng, format!("a{round}.{i}").as_bytes())
                .unwrap();
            assert_eq!(b.decrypt(&m).unwrap(), format!("a{round}.{i}").as_bytes());
        }
        let m = b.encrypt(&mut rng, b"pong").unwrap();
        assert_eq!(a.decrypt(&m).unwrap(), b"pong");
    }
    assert_eq!(a.skipped_keys() + b.skipped_keys(), 0);
}

#[test]
fn out_of_order_across_ratchet_steps() {
    let mut rng = rng(14);
    let (mut a, mut b) = pair(&mut rng);
    let a1: Vec<_> = (0..3).map(|i| a.encrypt(&mut rng, &[i]).unwrap()).collect();
    assert_eq!(b.decrypt(&a1[2]).unwrap(), [2]);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    assert_eq!(a.decrypt(&r).unwrap(), b"r");
    let a2: Vec<_> = (10..13)
        .map(|i| a.encrypt(&mut rng, &[i]).unwrap())
        .collect();
    assert_eq!(a2[0].header.pn, 4); // "first" + three
    assert_eq!(b.decrypt(&a2[1]).unwrap(), [11]);
    assert_eq!(b.skipped_keys(), 2 + 1);
    assert_eq!(b.decrypt(&a1[0]).unwrap(), [0]);
    assert_eq!(b.decrypt(&a2[0]).unwrap(), [10]);
    assert_eq!(b.decrypt(&a1[1]).unwrap(), [1]);
    assert_eq!(b.decrypt(&a2[2]).unwrap(), [12]);
    assert_eq!(b.skipped_keys(), 0);
    for m in a1.iter().chain(&a2) {
        assert!(b.decrypt(m).is_err(), "replay accepted");
    }
}

#[test]
fn gap_of_1000_accepted_1001_rejected() {
    let mut rng = rng(15);
    let (mut a, mut b) = pair(&mut rng);
    let msgs: Vec<_> = (0..1002)
        .map(|_| a.encrypt(&mut rng, b"m").unwrap())
        .collect();
    // Bob's next expected n is 1: message n = 1002 is a gap of 1001.
    let before = b.to_bytes();
    assert_eq!(
        b.decrypt(&msgs[1001]),
        Err(DecryptError::TooBigGap {
            gap: 1001,
            max: 1000
        })
    );
    assert_eq!(b.to_bytes(), before);
    assert_eq!(b.decrypt(&msgs[1000]).unwrap(), b"m");
    assert_eq!(b.skipped_keys(), 1000);
}

#[test]
fn new_chain_gap_is_capped_too() {
    let mut rng = rng(16);
    let (mut a, mut b) = pair(&mut rng);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    a.decrypt(&r).unwrap();
    let msgs: Vec<_> = (0..1002)
        .map(|_| a.encrypt(&mut rng, b"m").unwrap())
        .collect();
    assert!(matches!(
        b.decrypt(&msgs[1001]),
        Err(DecryptError::TooBigGap { gap: 1001, .. })
    ));
    assert_eq!(b.decrypt(&msgs[1000]).unwrap(), b"m");
}

#[test]
fn skipped_keys_capped_at_2000_oldest_evicted() {
    let mut rng = rng(17);
    let (mut a, mut b) = pair(&mut rng);
    let mut oldest = Vec::new();
    // Three chains of Alice, each delivering only its last message after 1000 skipped.
    for chain in 0..3 {
        let msgs: Vec<_> = (0..1001)
            .map(|_| a.encrypt(&mut rng, b"m").unwrap())
            .collect();
        b.decrypt(msgs.last().unwrap()).unwrap();
        if chain == 0 {
            oldest = msgs;
        }
        let r = b.encrypt(&mut rng, b"r").unwrap();
        a.decrypt(&r).unwrap();
    }
    assert_eq!(b.skipped_keys(), MAX_SKIPPED_KEYS);
    // The first chain's keys were evicted first.
    assert!(b.decrypt(&oldest[1]).is_err());
    assert_eq!(b.skipped_keys(), MAX_SKIPPED_KEYS);
}

#[test]
fn tampering_changes_nothing() {
    let mut rng = rng(18);
    let (mut a, mut b) = pair(&mut rng);
    let m0 = a.encrypt(&mut rng, b"zero").unwrap();
    let m1 = a.encrypt(&mut rng, b"one").unwrap();
    let before = b.to_bytes();
    let mut cases: Vec<EncryptedMessage> = Vec::new();
    for i in 0..m1.payload.len() {
        let mut t = m1.clone();
        t.payload[i] ^= 0x80;
        cases.push(t);
    }
    let mut t = m1.clone();
    t.header.n ^= 1;
    cases.push(t);
    let mut t = m1.clone();
    t.header.pn ^= 1;
    cases.push(t);
    let mut t = m1.clone();
    let mut k = t.header.ratchet_key.to_bytes();
    k[3] ^= 4;
    t.header.ratchet_key = X25519PublicKey::from_bytes(k);
    cases.push(t);
    let mut t = m1.clone();
    t.payload.truncate(15);
    cases.push(t);
    for t in &cases {
        assert!(b.decrypt(t).is_err());
        assert_eq!(b.to_bytes(), before, "state changed by a rejected message");
    }
    assert_eq!(b.decrypt(&m1).unwrap(), b"one");
    assert_eq!(b.decrypt(&m0).unwrap(), b"zero");
}

#[test]
fn empty_plaintext_and_payload_length() {
    let mut rng = rng(19);
    let (mut a, mut b) = pair(&mut rng);
    let m = a.encrypt(&mut rng, b"").unwrap();
    assert_eq!(m.payload.len(), 16);
    assert_eq!(b.decrypt(&m).unwrap(), b"");
}

#[test]
fn counter_exhaustion_refuses_to_send() {
    let mut rng = rng(20);
    let (mut a, _b) = pair(&mut rng);
    hazmat::set_sending_counter_for_testing_only(&mut a, u32::MAX - 1);
    let m = a.encrypt(&mut rng, b"last").unwrap();
    assert_eq!(m.header.n, u32::MAX - 1);
    assert_eq!(
        a.encrypt(&mut rng, b"x").unwrap_err(),
        EncryptError::CounterExhausted
    );
}

#[test]
fn responder_cannot_send_before_receiving() {
    let mut rng = rng(21);
    let alice = party(&mut rng, "a");
    let bob = party(&mut rng, "b");
    let (mut b, _) = hazmat::respond_with_fixed_keys_for_testing_only(
        &bob.identity,
        *bob.prekey.to_secret_bytes(),
        alice.identity.public_key(),
        &X25519PublicKey::from_bytes(hazmat::x25519_public(&[9; 32])),
    )
    .unwrap();
    assert!(!b.can_send());
    assert_eq!(
        b.encrypt(&mut rng, b"x").unwrap_err(),
        EncryptError::NotReadyToSend
    );
    // Its state round-trips too.
    let again = Session::from_bytes(&b.to_bytes()).unwrap();
    assert!(!again.can_send());
}

#[test]
fn zero_ratchet_key_rejected_without_change() {
    let mut rng = rng(22);
    let (mut a, mut b) = pair(&mut rng);
    let mut m = a.encrypt(&mut rng, b"x").unwrap();
    m.header.ratchet_key = X25519PublicKey::from_bytes([0; 32]);
    let before = b.to_bytes();
    assert_eq!(b.decrypt(&m), Err(DecryptError::NonContributory));
    assert_eq!(b.to_bytes(), before);
}

#[test]
fn wrong_session_rejected() {
    let mut rng = rng(23);
    let (mut a, _) = pair(&mut rng);
    let (_, mut other) = pair(&mut rng);
    let m = a.encrypt(&mut rng, b"x").unwrap();
    assert_eq!(other.decrypt(&m), Err(DecryptError::WrongSession));
}

#[test]
fn wire_round_trip() {
    let mut rng = rng(24);
    let (mut a, mut b) = pair(&mut rng);
    let m = a.encrypt(&mut rng, b"wire").unwrap();
    let decoded = EncryptedMessage::decode(&m.encode()).unwrap();
    assert_eq!(decoded, m);
    assert_eq!(b.decrypt(&decoded).unwrap(), b"wire");
}

#[test]
fn state_round_trip_mid_conversation() {
    let mut rng = rng(25);
    let (mut a, mut b) = pair(&mut rng);
    let held = a.encrypt(&mut rng, b"held").unwrap();
    let m = a.encrypt(&mut rng, b"m").unwrap();
    b.decrypt(&m).unwrap();
    let r = b.encrypt(&mut rng, b"r").unwrap();
    let bytes = b.to_bytes();
    let mut b2 = Session::from_bytes(&bytes).unwrap();
    assert_eq!(b2.to_bytes(), bytes);
    assert_eq!(b2.skipped_keys(), 1);
    assert_eq!(b2.decrypt(&held).unwrap(), b"held");
    assert_eq!(a.decrypt(&r).unwrap(), b"r");
    let next = b2.encrypt(&mut rng, b"n").unwrap();
    assert_eq!(a.decrypt(&next).unwrap(), b"n");
    let a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(a2.to_bytes(), a.to_bytes());
}

#[test]
fn state_decoding_rejects_bad_input() {
    let mut rng = rng(26);
    let (a, _) = pair(&mut rng);
    let bytes = a.to_bytes().to_vec();
    for len in 0..bytes.len() {
        assert!(
            Session::from_bytes(&bytes[..len]).is_err(),
            "truncated at {len}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        Session::from_bytes(&long).unwrap_err(),
        StateError::TrailingBytes
    );
    let mut v = bytes.clone();
    v[4] = 9;
    assert_eq!(
        Session::from_bytes(&v).unwrap_err(),
        StateError::UnknownVersion(9)
    );
    let mut m = bytes.clone();
    m[0] = b'X';
    assert_eq!(Session::from_bytes(&m).unwrap_err(), StateError::BadMagic);
    let mut f = bytes.clone();
    f[5] |= 0x80;
    assert_eq!(
        Session::from_bytes(&f).unwrap_err(),
        StateError::Inconsistent(Inconsistency::UnknownFlags)
    );
    let mut id = bytes.clone();
    id[6..38].copy_from_slice(&{
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    });
    assert_eq!(
        Session::from_bytes(&id).unwrap_err(),
        StateError::Inconsistent(Inconsistency::InvalidIdentity)
    );
    assert_eq!(
        Session::from_bytes(&vec![0; status_x3dh::MAX_STATE_BYTES + 1]).unwrap_err(),
        StateError::Oversize
    );
    // Skipped count over the cap.
    let mut over = bytes.clone();
    let n = over.len();
    over[n - 2..].copy_from_slice(&2001u16.to_be_bytes());
    assert_eq!(
        Session::from_bytes(&over).unwrap_err(),
        StateError::Oversize
    );
}

#[test]
fn debug_shows_no_secrets() {
    let mut rng = rng(27);
    let (a, _) = pair(&mut rng);
    let s = format!("{a:?}");
    let snap = hazmat::dangerous_snapshot(&a);
    assert!(!s.contains(&hex::encode(snap.root_key)));
    assert!(s.contains("Session"));
    let _ = NOW;
}

#[test]
fn pending_sending_chain_is_stored_and_sends_the_same_bytes() {
    let mut r = rng(28);
    let (mut a, mut b) = pair(&mut r);
    // Bob decrypted Alice's first message: his ratchet key and sending chain are pending.
    let bytes = b.to_bytes().to_vec();
    const RESPONDER: u8 = 1;
    const SENDING: u8 = 2;
    const THEIRS: u8 = 4;
    const RECEIVING: u8 = 8;
    assert_eq!(bytes[5], RESPONDER | THEIRS | RECEIVING);
    let mut restored = Session::from_bytes(&bytes).unwrap();
    assert_eq!(&restored.to_bytes()[..], &bytes[..]);
    let sent = b.encrypt(&mut rng(29), b"reply").unwrap();
    let sent_restored = restored.encrypt(&mut rng(29), b"reply").unwrap();
    assert_eq!(sent.encode(), sent_restored.encode());
    assert_eq!(b.to_bytes(), restored.to_bytes());
    assert_eq!(b.to_bytes()[5], RESPONDER | SENDING | THEIRS | RECEIVING);
    assert_eq!(a.decrypt(&sent).unwrap(), b"reply");

    // Pending without the receiving chain: header (6), AD, bundle id, root key, our secret,
    // previous n, their ratchet key, then the receiving chain (32 + 8).
    let receiving_at = 6 + 64 + 32 + 32 + 32 + 4 + 32;
    let mut pending = bytes[..receiving_at].to_vec();
    pending.extend_from_slice(&bytes[receiving_at + 40..]);
    pending[5] &= !RECEIVING;
    assert_eq!(
        Session::from_bytes(&pending).unwrap_err(),
        StateError::Inconsistent(Inconsistency::PendingWithoutReceiving)
    );
    // The same for a responder that has a sending chain.
    let b_bytes = b.to_bytes().to_vec();
    let receiving_at = receiving_at + 32 + 4;
    let mut no_receiving = b_bytes[..receiving_at].to_vec();
    no_receiving.extend_from_slice(&b_bytes[receiving_at + 40..]);
    no_receiving[5] &= !RECEIVING;
    assert_eq!(
        Session::from_bytes(&no_receiving).unwrap_err(),
        StateError::Inconsistent(Inconsistency::PendingWithoutReceiving)
    );
}

#[test]
fn state_with_x3dh_header_and_receiving_chain_is_rejected() {
    let mut r = rng(30);
    let (a, _) = pair(&mut r);
    // Alice has sent but not received: sending chain, their key (Bob's prekey), X3DH header.
    let bytes = a.to_bytes().to_vec();
    assert_eq!(bytes[5], 2 | 4 | 16);
    let receiving_at = 6 + 64 + 32 + 32 + 32 + (32 + 4) + 4 + 32;
    let mut both = bytes[..receiving_at].to_vec();
    both.extend_from_slice(&[7; 32]);
    both.extend_from_slice(&0u64.to_be_bytes());
    both.extend_from_slice(&bytes[receiving_at..]);
    both[5] |= 8;
    assert_eq!(
        Session::from_bytes(&both).unwrap_err(),
        StateError::Inconsistent(Inconsistency::X3dhAfterReceive)
    );
}
