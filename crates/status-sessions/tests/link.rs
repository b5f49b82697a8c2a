//! Linking two devices of one person with a 43 pairing and syncing the installation list
//! over the resulting 37 Noise session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::IdentityKeyPair;
use status_noise::{
    PairingInitiator, PairingParams, PairingResponder, PayloadV2, TransportSession,
};
use status_sessions::{
    Config, DeviceInfo, DeviceLink, InstallationError, InstallationId, LinkError, MemoryStore,
    SessionManager, noise_static_key,
};

const NOW: i64 = 1_750_000_000_000_000_000;

fn pair(
    shows_qr: &IdentityKeyPair,
    scans_qr: &IdentityKeyPair,
    rng: &mut ChaCha20Rng,
) -> (TransportSession, TransportSession) {
    let mut responder =
        PairingResponder::generate(noise_static_key(shows_qr), PairingParams::default(), rng)
            .unwrap();
    let qr = responder.qr().to_string();
    let mut initiator = PairingInitiator::new(
        noise_static_key(scans_qr),
        &qr,
        responder.qr_nametag(),
        [7; 32],
    )
    .unwrap();
    let (m1, code_i) = initiator.start(rng).unwrap();
    let code_r = responder
        .handle_message1(&PayloadV2::decode(&m1.encode().unwrap()).unwrap())
        .unwrap();
    assert_eq!(code_i, code_r, "both screens show the same code");
    initiator.confirm_auth_code(true).unwrap();
    let m2 = responder.confirm_auth_code(true, rng).unwrap();
    let m3 = initiator.handle_message2(&m2, rng).unwrap();
    responder.handle_message3(&m3).unwrap();
    (
        responder.into_session().unwrap(),
        initiator.into_session().unwrap(),
    )
}

fn device(seed: u8, name: &str, rng: &mut ChaCha20Rng) -> (SessionManager, MemoryStore) {
    let (m, changes) = SessionManager::with_installation(
        rng,
        IdentityKeyPair::from_secret_bytes(&[seed; 32]),
        Config::default(),
        InstallationId::new(name).unwrap(),
        DeviceInfo {
            name: Some(format!("{name} device")),
            device_type: Some("desktop".into()),
        },
        NOW,
    )
    .unwrap();
    let mut store = MemoryStore::new();
    changes.apply(&mut store).unwrap();
    (m, store)
}

#[test]
fn pairing_links_two_devices_and_syncs_installations_and_contacts() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
    let (mut a1, mut a1_store) = device(1, "a1", &mut rng);
    let (mut a2, mut a2_store) = device(1, "a2", &mut rng);
    let (mut b1, _) = device(2, "b1", &mut rng);
    let bob = *b1.identity();
    // a1 already knows Bob.
    a1.add_bundle(NOW, &b1.bundle().encode())
        .unwrap()
        .changes
        .apply(&mut a1_store)
        .unwrap();

    // a1 shows the QR code, a2 scans it.
    let (s1, s2) = pair(&alice, &alice, &mut rng);
    let mut link1 = DeviceLink::new(&alice, s1).unwrap();
    let mut link2 = DeviceLink::new(&alice, s2).unwrap();
    assert_eq!(link1.session_id(), link2.session_id());
    let topic = link1.content_topic();
    assert!(
        topic
            .as_str()
            .starts_with("/status-rs/1/wakunoise/1/sessions/")
    );
    assert_eq!(topic, link2.content_topic());

    let m = link1.sync_message(&a1).unwrap();
    assert_eq!(m.content_topic, topic);
    let outcome = link2.receive(&mut a2, NOW, &m.payload).unwrap();
    outcome.changes.apply(&mut a2_store).unwrap();
    assert_eq!(outcome.installation.as_str(), "a1");
    assert_eq!(outcome.refused, None);
    let m = link2.sync_message(&a2).unwrap();
    link1
        .receive(&mut a1, NOW, &m.payload)
        .unwrap()
        .changes
        .apply(&mut a1_store)
        .unwrap();

    // Both list each other as enabled, with the description, and a2 knows Bob.
    let own = *a1.identity();
    let on_a1 = a1.installations(&own);
    assert_eq!(on_a1.len(), 1);
    assert!(on_a1[0].enabled);
    assert_eq!(on_a1[0].info.name.as_deref(), Some("a2 device"));
    assert_eq!(a1.bundle().prekeys().len(), 2);
    assert!(a2.installations(&own)[0].enabled);
    assert_eq!(a2.peers(), vec![bob]);

    // a2 can now write to Bob, and a1 gets its copy.
    let out = a2
        .encrypt(&mut rng, NOW + 1, &bob, b"from the new device")
        .unwrap();
    assert_eq!(out.messages.len(), 2);
    for msg in &out.messages {
        if msg.recipient == bob {
            let got = b1
                .decrypt(&mut rng, NOW + 1, &msg.content_topic, &msg.payload)
                .unwrap();
            assert_eq!(
                got.message.unwrap().plaintext.as_slice(),
                b"from the new device"
            );
        } else {
            let got = a1
                .decrypt(&mut rng, NOW + 1, &msg.content_topic, &msg.payload)
                .unwrap();
            let got = got.message.unwrap();
            assert_eq!(got.installation.as_str(), "a2");
            assert_eq!(got.plaintext.as_slice(), b"from the new device");
        }
    }

    // The link survives a restart, and replays are refused.
    let saved = link1.to_bytes();
    let mut link1 = DeviceLink::from_bytes(&alice, &saved).unwrap();
    let again = link2.sync_message(&a2).unwrap();
    link1.receive(&mut a1, NOW + 2, &again.payload).unwrap();
    assert!(matches!(
        link1.receive(&mut a1, NOW + 2, &again.payload),
        Err(LinkError::Transport(_))
    ));
    assert_eq!(
        link1.receive(&mut a1, NOW + 2, b"garbage").unwrap_err(),
        LinkError::Decode
    );
}

#[test]
fn a_device_of_someone_else_is_not_linked() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
    let mallory = IdentityKeyPair::from_secret_bytes(&[3; 32]);
    let (s1, s2) = pair(&alice, &mallory, &mut rng);
    assert_eq!(
        DeviceLink::new(&alice, s1).unwrap_err(),
        LinkError::NotSameIdentity
    );
    assert_eq!(
        DeviceLink::new(&mallory, s2).unwrap_err(),
        LinkError::NotSameIdentity
    );
}

#[test]
fn linking_a_fourth_device_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
    let (mut a1, _) = device(1, "a1", &mut rng);
    let mut others: Vec<SessionManager> = ["a2", "a3", "a4"]
        .iter()
        .map(|n| device(1, n, &mut rng).0)
        .collect();
    let mut refused = Vec::new();
    for other in &mut others {
        let (s1, s2) = pair(&alice, &alice, &mut rng);
        let mut link1 = DeviceLink::new(&alice, s1).unwrap();
        let mut link2 = DeviceLink::new(&alice, s2).unwrap();
        let m = link2.sync_message(other).unwrap();
        let outcome = link1.receive(&mut a1, NOW, &m.payload).unwrap();
        refused.push(outcome.refused);
        let m = link1.sync_message(&a1).unwrap();
        link2.receive(other, NOW, &m.payload).unwrap();
    }
    assert_eq!(
        refused,
        vec![
            None,
            None,
            Some(InstallationError::TooManyInstallations { max: 3 })
        ]
    );
    assert_eq!(a1.bundle().prekeys().len(), 3);
}
