//! Multi-device sessions end to end, in memory: 3 devices per identity, pairing, fan-out,
//! a fourth device refused, a device added mid-conversation, a device restored from its
//! store, and a device that lost its sessions recovered by the rate-limited
//! re-establishment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use status_sessions::{
    Config, DeviceInfo, Event, InstallationError, InstallationId, InstallationStore, MemoryStore,
    OutgoingMessage, SessionManager, UndecryptableReason,
};

const START: i64 = 1_750_000_000_000_000_000;
const SECOND: i64 = 1_000_000_000;

struct Device {
    name: String,
    person: String,
    manager: SessionManager,
    store: MemoryStore,
    /// (sender installation, plaintext) in arrival order.
    received: Vec<(String, Vec<u8>)>,
    events: Vec<Event>,
}

/// A seeded in-memory network: every published message is delivered, once, to every
/// other device subscribed to its content topic; changes are persisted before messages
/// are "published".
struct Net {
    rng: ChaCha20Rng,
    now: i64,
    devices: Vec<Device>,
    identities: BTreeMap<String, [u8; 32]>,
}

impl Net {
    fn new(seed: u64) -> Self {
        Net {
            rng: ChaCha20Rng::seed_from_u64(seed),
            now: START,
            devices: Vec::new(),
            identities: BTreeMap::new(),
        }
    }

    fn identity(&mut self, person: &str) -> IdentityKeyPair {
        let seed = *self.identities.entry(person.to_owned()).or_insert_with(|| {
            let mut s = [0u8; 32];
            s[..person.len()].copy_from_slice(person.as_bytes());
            s
        });
        IdentityKeyPair::from_secret_bytes(&seed)
    }

    fn public(&mut self, person: &str) -> IdentityPublicKey {
        *self.identity(person).public_key()
    }

    fn add(&mut self, person: &str, name: &str) -> usize {
        let identity = self.identity(person);
        let (manager, changes) = SessionManager::with_installation(
            &mut self.rng,
            identity,
            Config::default(),
            InstallationId::new(name).unwrap(),
            DeviceInfo {
                name: Some(name.to_owned()),
                device_type: Some("test".to_owned()),
            },
            self.now,
        )
        .unwrap();
        let mut store = MemoryStore::new();
        changes.apply(&mut store).unwrap();
        self.devices.push(Device {
            name: name.to_owned(),
            person: person.to_owned(),
            manager,
            store,
            received: Vec::new(),
            events: Vec::new(),
        });
        self.devices.len() - 1
    }

    fn idx(&self, name: &str) -> usize {
        self.devices.iter().position(|d| d.name == name).unwrap()
    }

    fn dev(&mut self, name: &str) -> &mut Device {
        let i = self.idx(name);
        &mut self.devices[i]
    }

    fn tick(&mut self, ns: i64) {
        self.now += ns;
    }

    /// Pairs the named devices of one person: each reads the others' bundle adverts and
    /// enables them.
    fn pair(&mut self, names: &[&str]) {
        for a in names {
            let advert = self.dev(a).manager.bundle_advert().unwrap();
            for b in names {
                if a != b {
                    let now = self.now;
                    let d = self.dev(b);
                    let incoming = d
                        .manager
                        .decrypt(
                            &mut ChaCha20Rng::seed_from_u64(0),
                            now,
                            &advert.content_topic,
                            &advert.payload,
                        )
                        .unwrap();
                    incoming.changes.apply(&mut d.store).unwrap();
                }
            }
        }
        for a in names {
            for b in names {
                if a != b {
                    let now = self.now;
                    let id = InstallationId::new(*b).unwrap();
                    let d = self.dev(a);
                    let own = *d.manager.identity();
                    let changes = d.manager.set_enabled(now, &own, &id, true).unwrap();
                    changes.apply(&mut d.store).unwrap();
                }
            }
        }
    }

    /// `from` learns `to`'s bundle out of band (e.g. a contact code).
    fn introduce(&mut self, from: &str, to: &str) {
        let bundle = self.dev(to).manager.bundle().encode();
        let now = self.now;
        let d = self.dev(from);
        let incoming = d.manager.add_bundle(now, &bundle).unwrap();
        incoming.changes.apply(&mut d.store).unwrap();
    }

    fn send(&mut self, from: &str, to: &str, text: &str) {
        let to = self.public(to);
        let i = self.idx(from);
        let now = self.now;
        let out = self.devices[i]
            .manager
            .encrypt(&mut self.rng, now, &to, text.as_bytes())
            .unwrap();
        out.changes.apply(&mut self.devices[i].store).unwrap();
        self.devices[i].events.extend(out.events);
        self.publish(i, out.messages);
    }

    fn publish(&mut self, from: usize, messages: Vec<OutgoingMessage>) {
        let mut queue: VecDeque<(usize, OutgoingMessage)> =
            messages.into_iter().map(|m| (from, m)).collect();
        while let Some((sender, message)) = queue.pop_front() {
            for i in 0..self.devices.len() {
                if i == sender {
                    continue;
                }
                let subscribed = self.devices[i]
                    .manager
                    .subscriptions()
                    .contains(&message.content_topic);
                if !subscribed {
                    continue;
                }
                let now = self.now;
                let d = &mut self.devices[i];
                match d.manager.decrypt(
                    &mut self.rng,
                    now,
                    &message.content_topic,
                    &message.payload,
                ) {
                    Ok(incoming) => {
                        incoming.changes.apply(&mut d.store).unwrap();
                        if let Some(m) = incoming.message {
                            d.received
                                .push((m.installation.as_str().to_owned(), m.plaintext.to_vec()));
                        }
                        d.events.extend(incoming.events);
                        for m in incoming.messages {
                            queue.push_back((i, m));
                        }
                    }
                    Err(e) => panic!("{} failed to decrypt: {e}", d.name),
                }
            }
        }
    }

    fn texts(&mut self, name: &str) -> Vec<String> {
        self.dev(name)
            .received
            .iter()
            .map(|(_, t)| String::from_utf8(t.clone()).unwrap())
            .collect()
    }

    fn restore(&mut self, name: &str, store: MemoryStore) {
        let now = self.now;
        let person = self.dev(name).person.clone();
        let identity = self.identity(&person);
        let manager = SessionManager::restore(identity, Config::default(), &store, now).unwrap();
        let d = self.dev(name);
        d.manager = manager;
        d.store = store;
    }
}

fn own_key(m: &SessionManager) -> IdentityPublicKey {
    *m.identity()
}

fn count(texts: &[String], t: &str) -> usize {
    texts.iter().filter(|x| *x == t).count()
}

fn three_by_three() -> Net {
    let mut net = Net::new(1);
    for n in ["a1", "a2", "a3"] {
        net.add("alice", n);
    }
    for n in ["b1", "b2", "b3"] {
        net.add("bob", n);
    }
    net.pair(&["a1", "a2", "a3"]);
    net.pair(&["b1", "b2", "b3"]);
    net.introduce("a1", "b1");
    net
}

#[test]
fn every_message_reaches_every_other_device_exactly_once() {
    let mut net = three_by_three();
    assert_eq!(net.dev("b1").manager.bundle().prekeys().len(), 3);

    net.send("a1", "bob", "hello bob");
    net.tick(SECOND);
    net.send("b2", "alice", "hi alice from b2");
    net.tick(SECOND);
    net.send("a3", "bob", "a3 here");
    net.tick(SECOND);
    net.send("b1", "alice", "b1 here");
    net.tick(SECOND);
    net.send("a2", "bob", "a2 here");
    net.send("b3", "alice", "b3 here");

    let all = [
        ("a1", "hello bob"),
        ("b2", "hi alice from b2"),
        ("a3", "a3 here"),
        ("b1", "b1 here"),
        ("a2", "a2 here"),
        ("b3", "b3 here"),
    ];
    for device in ["a1", "a2", "a3", "b1", "b2", "b3"] {
        let texts = net.texts(device);
        for (from, text) in all {
            let expected = usize::from(from != device);
            assert_eq!(
                count(&texts, text),
                expected,
                "{device} got {text:?} from {from}"
            );
        }
        assert_eq!(texts.len(), 5, "{device}: {texts:?}");
    }
    // After the first exchange both sides use the negotiated topic.
    let alice = net.public("alice");
    let bob = net.public("bob");
    let topic = net
        .dev("a1")
        .manager
        .negotiated_topic(&bob)
        .cloned()
        .unwrap();
    assert_eq!(net.dev("b3").manager.negotiated_topic(&alice), Some(&topic));
    let out = net
        .dev("a1")
        .manager
        .encrypt(
            &mut ChaCha20Rng::seed_from_u64(9),
            START + 10 * SECOND,
            &bob,
            b"x",
        )
        .unwrap();
    assert_eq!(out.messages[0].content_topic, topic);
    assert_eq!(out.messages[0].pubsub_topic, "/waku/2/rs/16/32");
    // Sender identities are reported.
    let a1 = net
        .dev("b1")
        .received
        .iter()
        .find(|(i, _)| i == "a1")
        .cloned();
    assert!(a1.is_some());
}

#[test]
fn fourth_device_is_refused() {
    let mut net = three_by_three();
    net.add("alice", "a4");
    let advert = net.dev("a4").manager.bundle_advert().unwrap();
    let now = net.now;
    let d = net.dev("a1");
    let incoming = d
        .manager
        .decrypt(
            &mut ChaCha20Rng::seed_from_u64(0),
            now,
            &advert.content_topic,
            &advert.payload,
        )
        .unwrap();
    assert!(incoming.events.iter().any(|e| matches!(
        e,
        Event::OwnInstallationDiscovered { installation } if installation.as_str() == "a4"
    )));
    let own = *d.manager.identity();
    let err = d
        .manager
        .set_enabled(now, &own, &InstallationId::new("a4").unwrap(), true)
        .unwrap_err();
    assert_eq!(err, InstallationError::TooManyInstallations { max: 3 });
    // Disabling one frees a slot.
    let changes = d
        .manager
        .set_enabled(now, &own, &InstallationId::new("a3").unwrap(), false)
        .unwrap();
    assert!(!changes.is_empty());
    d.manager
        .set_enabled(now, &own, &InstallationId::new("a4").unwrap(), true)
        .unwrap();
    assert!(
        d.manager
            .bundle()
            .prekey(&InstallationId::new("a4").unwrap())
            .is_some()
    );
    assert!(
        d.manager
            .bundle()
            .prekey(&InstallationId::new("a3").unwrap())
            .is_none()
    );
    // This device cannot disable itself.
    assert_eq!(
        d.manager
            .set_enabled(now, &own, &InstallationId::new("a1").unwrap(), false)
            .unwrap_err(),
        InstallationError::ThisDevice
    );
}

#[test]
fn device_added_mid_conversation_receives_from_then_on() {
    let mut net = Net::new(2);
    for n in ["a1", "a2"] {
        net.add("alice", n);
    }
    for n in ["b1", "b2"] {
        net.add("bob", n);
    }
    net.pair(&["a1", "a2"]);
    net.pair(&["b1", "b2"]);
    net.introduce("a1", "b1");
    net.send("a1", "bob", "before");
    net.send("b1", "alice", "reply");

    net.tick(60 * SECOND);
    net.add("bob", "b3");
    net.pair(&["b1", "b2", "b3"]);
    // b1 talks: its bundle now lists b3, and b3 learns Alice from b1's own copy.
    net.send("b1", "alice", "b3 joined");
    net.send("a2", "bob", "welcome b3");
    net.send("a1", "bob", "second");
    net.send("b3", "alice", "hello from b3");

    let b3 = net.texts("b3");
    assert_eq!(b3, vec!["b3 joined", "welcome b3", "second"]);
    for d in ["a1", "a2"] {
        assert_eq!(count(&net.texts(d), "hello from b3"), 1, "{d}");
    }
    for d in ["b1", "b2"] {
        let t = net.texts(d);
        assert_eq!(count(&t, "welcome b3"), 1, "{d}");
        assert_eq!(count(&t, "second"), 1, "{d}");
        assert_eq!(count(&t, "hello from b3"), 1, "{d}");
    }
}

#[test]
fn device_restored_from_its_store_continues() {
    let mut net = three_by_three();
    net.send("a1", "bob", "one");
    net.send("b2", "alice", "two");
    let snapshot = net.dev("b2").store.clone();
    assert!(snapshot.session_count() > 0);
    net.restore("b2", snapshot);
    net.send("a1", "bob", "three");
    net.send("b2", "alice", "four");
    net.send("a3", "bob", "five");
    assert_eq!(net.texts("b2"), vec!["one", "three", "five"]);
    for d in ["a1", "a2", "a3"] {
        assert_eq!(count(&net.texts(d), "four"), 1, "{d}");
    }
    for d in ["b1", "b3"] {
        assert_eq!(count(&net.texts(d), "four"), 1, "{d}");
    }
    // No device saw an undecryptable message.
    for d in &net.devices {
        assert!(
            !d.events
                .iter()
                .any(|e| matches!(e, Event::Undecryptable { .. })),
            "{}: {:?}",
            d.name,
            d.events
        );
    }
}

#[test]
fn device_that_lost_its_sessions_is_recovered() {
    let mut net = three_by_three();
    net.send("a1", "bob", "m1");
    net.send("b1", "alice", "m2");
    net.send("a2", "bob", "m3");
    // b2 answers, so every session with b2 is confirmed (no more X3DH headers).
    net.send("b2", "alice", "m3b");

    // b2 loses every session (keeps its device and contact records).
    let old = net.dev("b2").store.clone();
    let mut wiped = MemoryStore::new();
    wiped
        .save_device(&old.load_device().unwrap().unwrap())
        .unwrap();
    for (id, record) in old.load_peers().unwrap() {
        wiped.save_peer(&id, &record).unwrap();
    }
    assert_eq!(wiped.session_count(), 0);
    net.restore("b2", wiped);

    // a1's next message cannot be decrypted by b2: reported, and recovered at once.
    net.send("a1", "bob", "m4");
    let b2_events = net.dev("b2").events.clone();
    assert!(b2_events.iter().any(|e| matches!(
        e,
        Event::Undecryptable { installation, reason: UndecryptableReason::NoSession, .. }
            if installation.as_str() == "a1"
    )));
    assert!(b2_events.iter().any(|e| matches!(
        e,
        Event::RecoveryStarted { installation, .. } if installation.as_str() == "a1"
    )));
    // Everyone else got m4.
    for d in ["b1", "b3", "a2", "a3"] {
        assert_eq!(count(&net.texts(d), "m4"), 1, "{d}");
    }
    // From now on a1 reaches b2 again.
    net.send("a1", "bob", "m5");
    assert_eq!(count(&net.texts("b2"), "m5"), 1);

    // a2's next message fails the same way and is recovered the same way.
    net.send("a2", "bob", "m6");
    assert!(net.dev("b2").events.iter().any(|e| matches!(
        e,
        Event::RecoveryStarted { installation, .. } if installation.as_str() == "a2"
    )));
    net.send("a2", "bob", "m7");
    assert_eq!(count(&net.texts("b2"), "m7"), 1);

    // Own devices too: b1's copy to b2 goes through recovery, then works.
    net.send("b1", "alice", "m8");
    net.send("b1", "alice", "m9");
    assert_eq!(count(&net.texts("b2"), "m9"), 1);
    // Nobody else lost anything.
    for m in ["m1", "m2", "m3", "m3b", "m4", "m5", "m6", "m7", "m8", "m9"] {
        for d in ["a1", "a2", "a3", "b1", "b3"] {
            let texts = net.texts(d);
            let sent_by_me = matches!(
                (d, m),
                ("a1", "m1" | "m4" | "m5")
                    | ("b1", "m2" | "m8" | "m9")
                    | ("b2", "m3b")
                    | ("a2", "m3" | "m6" | "m7")
            );
            assert_eq!(count(&texts, m), usize::from(!sent_by_me), "{d} {m}");
        }
    }
}

#[test]
fn recovery_is_rate_limited() {
    let mut net = three_by_three();
    net.send("a1", "bob", "m1");
    net.send("b1", "alice", "m2");
    net.send("b2", "alice", "m2b");
    let old = net.dev("b2").store.clone();
    let mut wiped = MemoryStore::new();
    wiped
        .save_device(&old.load_device().unwrap().unwrap())
        .unwrap();
    for (id, record) in old.load_peers().unwrap() {
        wiped.save_peer(&id, &record).unwrap();
    }
    net.restore("b2", wiped);
    // b2's recovery messages are lost on the way.
    let rate_limited = |net: &mut Net| {
        net.dev("b2")
            .events
            .iter()
            .filter(|e| matches!(e, Event::RecoveryRateLimited { .. }))
            .count()
    };
    let started = |net: &mut Net| {
        net.dev("b2")
            .events
            .iter()
            .filter(|e| matches!(e, Event::RecoveryStarted { .. }))
            .count()
    };
    let bob = net.public("bob");
    for (i, text) in ["x1", "x2", "x3"].into_iter().enumerate() {
        let now = net.now;
        let mut rng = ChaCha20Rng::seed_from_u64(i as u64);
        let out = net
            .dev("a1")
            .manager
            .encrypt(&mut rng, now, &bob, text.as_bytes())
            .unwrap();
        out.changes.apply(&mut net.dev("a1").store).unwrap();
        for m in out.messages {
            if m.recipient != bob {
                continue;
            }
            let d = net.dev("b2");
            let incoming = d
                .manager
                .decrypt(&mut rng, now, &m.content_topic, &m.payload)
                .unwrap();
            assert!(incoming.message.is_none());
            d.events.extend(incoming.events);
            // recovery messages dropped
        }
        net.tick(SECOND);
    }
    assert_eq!(started(&mut net), 1);
    assert_eq!(rate_limited(&mut net), 2);
    // After the interval, recovery is tried again.
    net.tick(11 * 60 * SECOND);
    let now = net.now;
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let out = net
        .dev("a1")
        .manager
        .encrypt(&mut rng, now, &bob, b"x4")
        .unwrap();
    for m in out.messages.into_iter().filter(|m| m.recipient == bob) {
        let d = net.dev("b2");
        let incoming = d
            .manager
            .decrypt(&mut rng, now, &m.content_topic, &m.payload)
            .unwrap();
        d.events.extend(incoming.events);
        assert_eq!(incoming.messages.len(), 1);
    }
    assert_eq!(started(&mut net), 2);
}

#[test]
fn prekey_rotation_keeps_late_first_messages_decryptable() {
    let mut net = Net::new(5);
    net.add("alice", "a1");
    net.add("bob", "b1");
    // Alice keeps Bob's bundle of day 0.
    net.introduce("a1", "b1");
    let day = 24 * 3600 * SECOND;
    net.tick(day + SECOND);
    let now = net.now;
    let out = net
        .dev("b1")
        .manager
        .tick(&mut ChaCha20Rng::seed_from_u64(3), now);
    assert!(out.events.contains(&Event::PreKeyRotated { version: 2 }));
    assert_eq!(
        net.dev("b1")
            .manager
            .bundle()
            .prekey(&InstallationId::new("b1").unwrap())
            .unwrap()
            .version,
        2
    );
    // A first message to the old prekey still decrypts during the grace period.
    net.send("a1", "bob", "late hello");
    assert_eq!(net.texts("b1"), vec!["late hello"]);
    net.send("b1", "alice", "answer");
    assert_eq!(net.texts("a1"), vec!["answer"]);
}

#[test]
fn encrypt_errors_are_typed() {
    let mut net = Net::new(6);
    net.add("alice", "a1");
    let bob = net.public("bob");
    let now = net.now;
    let d = net.dev("a1");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert_eq!(
        d.manager.encrypt(&mut rng, now, &bob, b"hi").unwrap_err(),
        status_sessions::EncryptError::NoInstallations
    );
    assert_eq!(
        d.manager.encrypt(&mut rng, now, &bob, b"").unwrap_err(),
        status_sessions::EncryptError::EmptyPlaintext
    );
    // Too large for the Waku payload once copied for every installation.
    let big = vec![1u8; d.manager.max_plaintext_len() + 1];
    assert!(matches!(
        d.manager
            .encrypt(&mut rng, now, &own_key(&d.manager), &big)
            .unwrap_err(),
        status_sessions::EncryptError::Payload(status_sessions::payload::PayloadError::TooLarge(_))
    ));
    // To ourselves with no other device: nothing to send, not an error.
    let own = *d.manager.identity();
    assert!(
        d.manager
            .encrypt(&mut rng, now, &own, b"note")
            .unwrap()
            .messages
            .is_empty()
    );
}

#[test]
fn duplicates_are_rejected_and_unknown_topics_refused() {
    let mut net = Net::new(7);
    net.add("alice", "a1");
    net.add("bob", "b1");
    net.introduce("a1", "b1");
    let bob = net.public("bob");
    let now = net.now;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let out = net
        .dev("a1")
        .manager
        .encrypt(&mut rng, now, &bob, b"once")
        .unwrap();
    let m = &out.messages[0];
    let d = net.dev("b1");
    let first = d
        .manager
        .decrypt(&mut rng, now, &m.content_topic, &m.payload)
        .unwrap();
    assert_eq!(first.message.unwrap().plaintext.as_slice(), b"once");
    assert_eq!(
        d.manager
            .decrypt(&mut rng, now, &m.content_topic, &m.payload)
            .unwrap_err(),
        status_sessions::DecryptError::Duplicate
    );
    assert_eq!(
        d.manager
            .decrypt(
                &mut rng,
                now,
                &status_sessions::ContentTopic::new("/x/1/y/proto"),
                &m.payload
            )
            .unwrap_err(),
        status_sessions::DecryptError::UnknownTopic
    );
}

#[test]
fn a_crash_between_persisting_and_sending_loses_only_that_message() {
    let mut net = three_by_three();
    net.send("a1", "bob", "one");
    net.send("b1", "alice", "two");
    // a1 encrypts and persists, then crashes before publishing.
    let bob = net.public("bob");
    let now = net.now;
    let mut rng = ChaCha20Rng::seed_from_u64(1234);
    let out = net
        .dev("a1")
        .manager
        .encrypt(&mut rng, now, &bob, b"lost")
        .unwrap();
    out.changes.apply(&mut net.dev("a1").store).unwrap();
    drop(out.messages);
    let store = net.dev("a1").store.clone();
    net.restore("a1", store);
    // The restored ratchet is ahead of what the peers saw; they skip the lost message.
    net.send("a1", "bob", "after the crash");
    for d in ["b1", "b2", "b3", "a2", "a3"] {
        let texts = net.texts(d);
        assert_eq!(count(&texts, "after the crash"), 1, "{d}");
        assert_eq!(count(&texts, "lost"), 0, "{d}");
    }
}

#[test]
fn reordered_and_duplicated_delivery_decrypts_each_message_once() {
    use rand::seq::SliceRandom;
    for seed in 0..3u64 {
        let mut net = three_by_three();
        if seed == 2 {
            // Established, confirmed sessions on the negotiated topic this time.
            net.send("a1", "bob", "warm");
            net.send("b1", "alice", "warm back");
        }
        let bob = net.public("bob");
        let mut rng = ChaCha20Rng::seed_from_u64(100 + seed);
        let mut wire = Vec::new();
        for i in 0..8 {
            let now = net.now;
            let text = format!("m{i}");
            let out = net
                .dev("a1")
                .manager
                .encrypt(&mut rng, now, &bob, text.as_bytes())
                .unwrap();
            out.changes.apply(&mut net.dev("a1").store).unwrap();
            wire.extend(out.messages);
        }
        // Every message twice, in random order.
        let mut schedule: Vec<OutgoingMessage> = wire.iter().chain(wire.iter()).cloned().collect();
        schedule.shuffle(&mut rng);
        for name in ["b1", "b2", "b3", "a2", "a3"] {
            let now = net.now;
            let d = net.dev(name);
            let mut got = Vec::new();
            for m in &schedule {
                if !d.manager.subscriptions().contains(&m.content_topic) {
                    continue;
                }
                match d
                    .manager
                    .decrypt(&mut rng, now, &m.content_topic, &m.payload)
                {
                    Ok(incoming) => {
                        incoming.changes.apply(&mut d.store).unwrap();
                        assert!(
                            !incoming
                                .events
                                .iter()
                                .any(|e| matches!(e, Event::Undecryptable { .. })),
                            "{name}: {:?}",
                            incoming.events
                        );
                        if let Some(r) = incoming.message {
                            got.push(String::from_utf8(r.plaintext.to_vec()).unwrap());
                        }
                    }
                    Err(status_sessions::DecryptError::Duplicate) => {}
                    Err(e) => panic!("{name}: {e}"),
                }
            }
            got.sort();
            let want: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
            assert_eq!(got, want, "{name} seed {seed}");
        }
    }
}
