//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not a stable API.
//!
//! [`protocol_message`] feeds arbitrary bytes to [`SessionManager::decrypt`] on each kind
//! of topic. Random bytes never get through AES-GCM, so the bytes after the first are
//! first wrapped the way that topic expects (sealed to the device's identity, encrypted
//! with the negotiated or self-topic key, framed for the contact-code topic) and so reach
//! the `ProtocolMessage` handling; selector values past those wrap nothing and test the
//! payload layer itself.
//!
//! [`stored`] restores a device from a store with one record replaced by the input;
//! [`link`] feeds a device link (43 pairing, 37 session) sync messages and link states;
//! [`interaction`] runs three devices through a script of sends, deliveries in any order,
//! drops, duplicates, tampering and restarts. A panic means a property is broken.
#![allow(clippy::panic)]

use std::sync::OnceLock;

use status_identity::IdentityKeyPair;
use status_x3dh::fuzzing::InsecureFuzzRng as FuzzRng;

use crate::InstallationId;
use crate::manager::{Config, DeviceInfo, SessionManager};
use crate::payload;
use crate::store::MemoryStore;
use crate::topics::{self, Negotiated};

const NOW: i64 = 1_750_000_000_000_000_000;

struct Fixture {
    alice: [u8; 32],
    bob: [u8; 32],
    /// Alice's device a1 after a conversation with Bob's b1 and her own a2.
    store: MemoryStore,
    /// Real `ProtocolMessage`s (unwrapped) from that conversation, by topic selector.
    seeds: Vec<(u8, Vec<u8>)>,
    /// A genuine message from Bob that the stored device has not seen yet.
    pending: (crate::ContentTopic, Vec<u8>),
    /// The negotiated topic and key of Alice and Bob, and Alice's self topic and key.
    with_bob: Negotiated,
    own: Negotiated,
}

fn manager(seed: [u8; 32], name: &str, rng: &mut FuzzRng) -> Option<(SessionManager, MemoryStore)> {
    let identity = IdentityKeyPair::from_secret_bytes(&seed);
    let (m, changes) = SessionManager::with_installation(
        rng,
        identity,
        Config::default(),
        InstallationId::new(name).ok()?,
        DeviceInfo::default(),
        NOW,
    )
    .ok()?;
    let mut store = MemoryStore::new();
    changes.apply(&mut store).ok()?;
    Some((m, store))
}

fn build() -> Option<Fixture> {
    let mut rng = FuzzRng::from_seed_insecure(b"status-sessions fuzz fixture");
    let alice = [0xa1; 32];
    let bob = [0xb0; 32];
    let (mut a1, mut a1_store) = manager(alice, "a1", &mut rng)?;
    let (mut a2, _) = manager(alice, "a2", &mut rng)?;
    let (mut b1, _) = manager(bob, "b1", &mut rng)?;
    let a_id = *a1.identity();
    let b_id = *b1.identity();
    // Pair a1 and a2.
    let a2_advert = a2.bundle_advert().ok()?;
    a1.decrypt(&mut rng, NOW, &a2_advert.content_topic, &a2_advert.payload)
        .ok()?
        .changes
        .apply(&mut a1_store)
        .ok()?;
    let a1_advert = a1.bundle_advert().ok()?;
    a2.decrypt(&mut rng, NOW, &a1_advert.content_topic, &a1_advert.payload)
        .ok()?;
    let a2_inst = InstallationId::new("a2").ok()?;
    a1.set_enabled(NOW, &a_id, &a2_inst, true)
        .ok()?
        .apply(&mut a1_store)
        .ok()?;
    let a1_inst = InstallationId::new("a1").ok()?;
    a2.set_enabled(NOW, &a_id, &a1_inst, true).ok()?;
    // a1 writes to Bob, Bob answers.
    a1.add_bundle(NOW, &b1.bundle().encode())
        .ok()?
        .changes
        .apply(&mut a1_store)
        .ok()?;
    let out = a1.encrypt(&mut rng, NOW, &b_id, b"hello").ok()?;
    out.changes.apply(&mut a1_store).ok()?;
    let mut seeds = Vec::new();
    let bob_key = IdentityKeyPair::from_secret_bytes(&bob);
    for m in &out.messages {
        if m.recipient == b_id {
            seeds.push((0, payload::open(&bob_key, &m.payload).ok()?.to_vec()));
            b1.decrypt(&mut rng, NOW, &m.content_topic, &m.payload)
                .ok()?;
        } else {
            let own =
                Negotiated::derive(&IdentityKeyPair::from_secret_bytes(&alice), &a_id).ok()?;
            seeds.push((2, own.key().decrypt(&m.payload).ok()?.to_vec()));
        }
    }
    let reply = b1.encrypt(&mut rng, NOW, &a_id, b"hi").ok()?;
    for m in &reply.messages {
        if m.recipient == a_id {
            let n = Negotiated::derive(&bob_key, &a_id).ok()?;
            seeds.push((1, n.key().decrypt(&m.payload).ok()?.to_vec()));
            a1.decrypt(&mut rng, NOW, &m.content_topic, &m.payload)
                .ok()?
                .changes
                .apply(&mut a1_store)
                .ok()?;
        }
    }
    let advert = b1.bundle_advert().ok()?;
    seeds.push((3, payload::unframe_public(&advert.payload).ok()?.to_vec()));
    let later = b1.encrypt(&mut rng, NOW, &a_id, b"later").ok()?;
    let pending = later
        .messages
        .into_iter()
        .find(|m| m.recipient == a_id)
        .map(|m| (m.content_topic, m.payload))?;
    Some(Fixture {
        alice,
        bob,
        store: a1_store,
        seeds,
        pending,
        with_bob: Negotiated::derive(&bob_key, &a_id).ok()?,
        own: Negotiated::derive(&IdentityKeyPair::from_secret_bytes(&alice), &a_id).ok()?,
    })
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(build).as_ref()
}

/// Real inputs for [`protocol_message`] (selector byte, then the `ProtocolMessage`), for
/// seeding the corpus.
pub fn seed_inputs() -> Vec<Vec<u8>> {
    fixture()
        .map(|f| {
            f.seeds
                .iter()
                .map(|(k, m)| {
                    let mut v = vec![*k];
                    v.extend_from_slice(m);
                    v
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Feeds `data` to a device that holds sessions with a peer and with its own other
/// device. `data[0] % 6` picks the topic: 0 partitioned (sealed), 1 negotiated with the
/// peer, 2 self topic, 3 contact code (all four wrap `data[1..]` as that topic expects),
/// 4 partitioned and 5 negotiated with `data[1..]` as the raw Waku payload. Must never
/// panic; a rejected input must leave the device able to decrypt a genuine message.
pub fn protocol_message(data: &[u8]) {
    let Some(f) = fixture() else {
        return;
    };
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    let Ok(mut device) = SessionManager::restore(alice, Config::default(), &f.store, NOW) else {
        return;
    };
    let mut rng = FuzzRng::from_seed_insecure(&[selector]);
    let a_id = *device.identity();
    let (with_bob, own) = (&f.with_bob, &f.own);
    let bob = IdentityKeyPair::from_secret_bytes(&f.bob);
    let (topic, payload) = match selector % 6 {
        0 => (
            topics::partitioned_topic(&a_id),
            payload::seal(&mut rng, &a_id, body).ok(),
        ),
        1 => (
            with_bob.topic().clone(),
            with_bob.key().encrypt(&mut rng, body).ok(),
        ),
        2 => (own.topic().clone(), own.key().encrypt(&mut rng, body).ok()),
        3 => (
            topics::contact_code_topic(bob.public_key()),
            payload::frame_public(body).ok(),
        ),
        4 => (topics::partitioned_topic(&a_id), Some(body.to_vec())),
        _ => (with_bob.topic().clone(), Some(body.to_vec())),
    };
    let Some(payload) = payload else {
        return;
    };
    if device.decrypt(&mut rng, NOW, &topic, &payload).is_err() {
        // A rejected input changed nothing that matters: the next genuine message from
        // the peer still decrypts.
        let (topic, payload) = &f.pending;
        let genuine = device.decrypt(&mut rng, NOW, topic, payload);
        assert!(
            genuine.is_ok_and(|i| i
                .message
                .is_some_and(|m| m.plaintext.as_slice() == b"later")),
            "a rejected input broke the session"
        );
    }
}

// ---------------------------------------------------------------------------------
// Stored state, device links and a three-device interaction.

use crate::store::{InstallationStore, SessionStore};
use crate::{DeviceLink, noise_static_key};
use status_identity::IdentityPublicKey;
use status_noise::{
    PairingInitiator, PairingParams, PairingResponder, PayloadV2, TransportSession,
};

/// A store holding what `from` holds, with one record replaced or added according to
/// `selector`: 0 the device record, 1 the peer record of Bob, 2 the peer record of our own
/// identity, 3 the first session state, 4 an extra peer record (a stranger's).
fn tampered_store(from: &MemoryStore, selector: u8, record: &[u8]) -> MemoryStore {
    let slot = selector % 5;
    let mut out = MemoryStore::new();
    let Ok(device) = from.load_device();
    let Ok(peers) = from.load_peers();
    let Ok(sessions) = from.load_sessions();
    let Ok(()) = out.save_device(if slot == 0 {
        record
    } else {
        device.as_deref().map(Vec::as_slice).unwrap_or_default()
    });
    let own = IdentityKeyPair::from_secret_bytes(&[0xa1; 32]);
    let own = *own.public_key();
    for (id, r) in &peers {
        let replace = match slot {
            1 => *id != own,
            2 => *id == own,
            _ => false,
        };
        let Ok(()) = out.save_peer(id, if replace { record } else { r });
    }
    if slot == 4 {
        let stranger = IdentityKeyPair::from_secret_bytes(&[0xc0; 32]);
        let Ok(()) = out.save_peer(stranger.public_key(), record);
    }
    for (i, (key, state)) in sessions.iter().enumerate() {
        let state: &[u8] = if slot == 3 && i == 0 { record } else { state };
        let Ok(()) = out.save_session(key, state);
    }
    out
}

/// Real inputs for [`stored`]: each record of the fixture's device (selector byte, then
/// the record).
pub fn stored_seed_inputs() -> Vec<Vec<u8>> {
    let Some(f) = fixture() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Ok(device) = f.store.load_device();
    let Ok(peers) = f.store.load_peers();
    let Ok(sessions) = f.store.load_sessions();
    if let Some(d) = device {
        out.push([&[0u8][..], &d].concat());
    }
    let own = *IdentityKeyPair::from_secret_bytes(&f.alice).public_key();
    for (id, r) in &peers {
        out.push([&[if *id == own { 2u8 } else { 1 }][..], r].concat());
    }
    if let Some((_, s)) = sessions.first() {
        out.push([&[3u8][..], s].concat());
    }
    out
}

/// cargo-fuzz target `stored`: `data[1..]` replaces one record of a stored device
/// (`data[0]` picks which: device, peer, own peer, session, extra peer) and the device is
/// restored from that store, as a node does at start. Must never panic; a device that
/// restores can encrypt to its contact and decrypt its pending message without panicking,
/// and when only an extra record was bad the device either refuses to restore or decrypts
/// the genuine pending message.
pub fn stored(data: &[u8]) {
    let Some(f) = fixture() else {
        return;
    };
    let Some((&selector, record)) = data.split_first() else {
        return;
    };
    let store = tampered_store(&f.store, selector, record);
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    let Ok(mut device) = SessionManager::restore(alice, Config::default(), &store, NOW) else {
        return;
    };
    let mut rng = FuzzRng::from_seed_insecure(&[selector]);
    let bob = *IdentityKeyPair::from_secret_bytes(&f.bob).public_key();
    let _ = device.encrypt(&mut rng, NOW, &bob, b"after restore");
    let (topic, payload) = &f.pending;
    let genuine = device.decrypt(&mut rng, NOW, topic, payload);
    if selector % 5 == 4 {
        assert!(
            genuine.is_ok_and(|i| i
                .message
                .is_some_and(|m| m.plaintext.as_slice() == b"later")),
            "a stranger's record broke the session with Bob"
        );
    }
}

struct LinkFixture {
    /// a1's store (it knows Bob).
    a1: MemoryStore,
    /// a1's and a3's link states right after the pairing.
    a1_link: Vec<u8>,
    a3_link: Vec<u8>,
    /// A genuine sync message from a3 (first message on the link).
    genuine: Vec<u8>,
    /// Its plaintext.
    genuine_plaintext: Vec<u8>,
}

fn pair(rng: &mut FuzzRng, id: &IdentityKeyPair) -> Option<(TransportSession, TransportSession)> {
    let mut shows =
        PairingResponder::generate(noise_static_key(id), PairingParams::default(), rng).ok()?;
    let qr = shows.qr().to_string();
    let mut scans =
        PairingInitiator::new(noise_static_key(id), &qr, shows.qr_nametag(), [7; 32]).ok()?;
    let (m1, _) = scans.start(rng).ok()?;
    shows.handle_message1(&m1).ok()?;
    scans.confirm_auth_code(true).ok()?;
    let m2 = shows.confirm_auth_code(true, rng).ok()?;
    let m3 = scans.handle_message2(&m2, rng).ok()?;
    shows.handle_message3(&m3).ok()?;
    Some((shows.into_session().ok()?, scans.into_session().ok()?))
}

fn build_link() -> Option<LinkFixture> {
    let f = fixture()?;
    let mut rng = FuzzRng::from_seed_insecure(b"status-sessions link fixture");
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    // A third device of Alice's, linked to a1 by a pairing.
    let (a3, _) = manager(f.alice, "a3", &mut rng)?;
    let (s1, s3) = pair(&mut rng, &alice)?;
    let a1_link = DeviceLink::new(&alice, s1).ok()?.to_bytes().to_vec();
    let a3_link = DeviceLink::new(&alice, s3).ok()?.to_bytes().to_vec();
    let mut l3 = DeviceLink::from_bytes(&alice, &a3_link).ok()?;
    let genuine = l3.sync_message(&a3).ok()?.payload;
    let mut copy = TransportSession::from_bytes(&a1_link).ok()?;
    let genuine_plaintext = copy.decrypt(&PayloadV2::decode(&genuine).ok()?).ok()?;
    Some(LinkFixture {
        a1: f.store.clone(),
        a1_link,
        a3_link,
        genuine,
        genuine_plaintext,
    })
}

fn link_fixture() -> Option<&'static LinkFixture> {
    static FIXTURE: OnceLock<Option<LinkFixture>> = OnceLock::new();
    FIXTURE.get_or_init(build_link).as_ref()
}

/// Real inputs for [`link`]: the plaintext of a genuine sync message (selector 0), the
/// genuine encrypted sync message (selector 1) and a stored link state (selector 2).
pub fn link_seed_inputs() -> Vec<Vec<u8>> {
    let Some(l) = link_fixture() else {
        return Vec::new();
    };
    vec![
        [&[0u8][..], &l.genuine_plaintext].concat(),
        [&[1u8][..], &l.genuine].concat(),
        [&[2u8][..], &l.a1_link].concat(),
    ]
}

/// cargo-fuzz target `link`: a device link (37 session made by a 43 pairing) between
/// Alice's a1 and a3. `data[0] % 3` picks: 0 `data[1..]` is a sync message plaintext that
/// a3 encrypts on the link and a1 receives; 1 `data[1..]` is the raw payload a1
/// receives; 2 `data[1..]` is a stored link state a1 restores. Must never panic; a
/// rejected message leaves a1's link able to receive the genuine first sync message, and
/// a restored link serializes to bytes that restore again.
pub fn link(data: &[u8]) {
    let (Some(f), Some(l)) = (fixture(), link_fixture()) else {
        return;
    };
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    if selector % 3 == 2 {
        if let Ok(link) = DeviceLink::from_bytes(&alice, body) {
            let again = DeviceLink::from_bytes(&alice, &link.to_bytes());
            assert!(again.is_ok(), "a saved link does not restore");
        }
        return;
    }
    let Ok(mut a1) = SessionManager::restore(alice, Config::default(), &l.a1, NOW) else {
        return;
    };
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    let Ok(mut link) = DeviceLink::from_bytes(&alice, &l.a1_link) else {
        return;
    };
    let payload = if selector % 3 == 0 {
        let Ok(mut s3) = TransportSession::from_bytes(&l.a3_link) else {
            return;
        };
        let Ok(m) = s3.encrypt(body) else {
            return;
        };
        let Ok(wire) = m.encode() else {
            return;
        };
        wire
    } else {
        body.to_vec()
    };
    if link.receive(&mut a1, NOW, &payload).is_err() {
        let genuine = link.receive(&mut a1, NOW, &l.genuine);
        assert!(
            genuine.is_ok(),
            "a rejected sync message broke the link: {genuine:?}"
        );
    }
}

/// Alice's two devices (a1, a2, paired) and Bob's b1, all knowing each other's bundles,
/// as stores to restore from.
struct Trio {
    stores: [MemoryStore; 3],
    secrets: [[u8; 32]; 3],
}

fn build_trio() -> Option<Trio> {
    let mut rng = FuzzRng::from_seed_insecure(b"status-sessions interaction fixture");
    let (alice, bob) = ([0xa1; 32], [0xb0; 32]);
    let (mut a1, mut s1) = manager(alice, "a1", &mut rng)?;
    let (mut a2, mut s2) = manager(alice, "a2", &mut rng)?;
    let (mut b1, mut s3) = manager(bob, "b1", &mut rng)?;
    let a_id = *a1.identity();
    let advert = a2.bundle_advert().ok()?;
    let i = a1.decrypt(&mut rng, NOW, &advert.content_topic, &advert.payload);
    i.ok()?.changes.apply(&mut s1).ok()?;
    let advert = a1.bundle_advert().ok()?;
    let i = a2.decrypt(&mut rng, NOW, &advert.content_topic, &advert.payload);
    i.ok()?.changes.apply(&mut s2).ok()?;
    let (n1, n2) = (
        InstallationId::new("a1").ok()?,
        InstallationId::new("a2").ok()?,
    );
    a1.set_enabled(NOW, &a_id, &n2, true)
        .ok()?
        .apply(&mut s1)
        .ok()?;
    a2.set_enabled(NOW, &a_id, &n1, true)
        .ok()?
        .apply(&mut s2)
        .ok()?;
    let bb = b1.bundle().encode();
    a1.add_bundle(NOW, &bb).ok()?.changes.apply(&mut s1).ok()?;
    a2.add_bundle(NOW, &bb).ok()?.changes.apply(&mut s2).ok()?;
    let ab = a1.bundle().encode();
    b1.add_bundle(NOW, &ab).ok()?.changes.apply(&mut s3).ok()?;
    if b1.installations(&a_id).iter().filter(|i| i.enabled).count() != 2 {
        return None;
    }
    Some(Trio {
        stores: [s1, s2, s3],
        secrets: [alice, alice, bob],
    })
}

fn trio() -> Option<&'static Trio> {
    static FIXTURE: OnceLock<Option<Trio>> = OnceLock::new();
    FIXTURE.get_or_init(build_trio).as_ref()
}

/// One Waku message in flight, and the devices it has not reached yet.
#[derive(Clone)]
struct Flight {
    from: usize,
    topic: crate::ContentTopic,
    payload: Vec<u8>,
    /// The plaintext (empty for control messages).
    plaintext: Vec<u8>,
    /// Devices that have not received it (by index).
    pending: Vec<usize>,
    /// Devices that have received it.
    reached: Vec<usize>,
}

/// Most sends in one script (keeps every gap far under the skipped-key caps).
const MAX_INTERACTION_SENDS: usize = 48;

/// Devices that get a message `from` sends to `recipient`: the recipient's devices, and
/// never the sender itself.
fn receivers(
    from: usize,
    recipient: &IdentityPublicKey,
    ids: &[IdentityPublicKey; 3],
) -> Vec<usize> {
    (0..3)
        .filter(|&d| d != from && ids[d] == *recipient)
        .collect()
}

/// cargo-fuzz target `interaction`: Alice's a1 and a2 and Bob's b1 run a script read from
/// `data` (two bytes per step): a device sends to the other person, a message in flight is
/// delivered to one of its receivers (any order), delivered with one bit flipped first,
/// dropped, delivered again, or a device restarts from its store. Asserts: nothing panics;
/// a tampered or repeated message never yields a plaintext; every genuine message reaching
/// a receiver for the first time is accepted, and when it yields a plaintext that is the
/// one sent, from the right sender; no genuine message yields a plaintext twice.
pub fn interaction(data: &[u8]) {
    let Some(t) = trio() else {
        panic!("the interaction fixture must build");
    };
    let mut rng = FuzzRng::from_seed_insecure(data.get(..4).unwrap_or_default());
    let ids = t
        .secrets
        .map(|s| *IdentityKeyPair::from_secret_bytes(&s).public_key());
    let mut stores = t.stores.clone();
    let restore = |d: usize, store: &MemoryStore| {
        let id = IdentityKeyPair::from_secret_bytes(&t.secrets[d]);
        SessionManager::restore(id, Config::default(), store, NOW)
    };
    let mut devices = Vec::new();
    for (d, store) in stores.iter().enumerate() {
        let Ok(m) = restore(d, store) else {
            panic!("fixture device does not restore");
        };
        devices.push(m);
    }
    let mut flights: Vec<Flight> = Vec::new();
    let mut sends = 0usize;
    let mut now = NOW;
    let mut bytes = data.iter().copied().skip(4);
    while let Some(op) = bytes.next() {
        let arg = usize::from(bytes.next().unwrap_or(0));
        now += 1_000_000;
        match op % 8 {
            // A device sends to the other person.
            0..=2 => {
                if sends >= MAX_INTERACTION_SENDS {
                    continue;
                }
                let from = usize::from(op % 8);
                let to = if from == 2 { ids[0] } else { ids[2] };
                sends += 1;
                let plaintext = format!("m{sends} from {from}").into_bytes();
                let out = devices[from].encrypt(&mut rng, now, &to, &plaintext);
                let Ok(out) = out else {
                    panic!("send failed: {:?}", out.err());
                };
                let Ok(()) = out.changes.apply(&mut stores[from]);
                for m in out.messages {
                    flights.push(Flight {
                        from,
                        pending: receivers(from, &m.recipient, &ids),
                        reached: Vec::new(),
                        topic: m.content_topic,
                        payload: m.payload,
                        plaintext: plaintext.clone(),
                    });
                }
            }
            // Deliver (3), or tamper then deliver (4), one message to one receiver.
            3 | 4 => {
                let live: Vec<usize> = (0..flights.len())
                    .filter(|&i| !flights[i].pending.is_empty())
                    .collect();
                if live.is_empty() {
                    continue;
                }
                let fi = live[arg % live.len()];
                let f = &mut flights[fi];
                let to = f.pending.remove(arg / 7 % f.pending.len());
                f.reached.push(to);
                let f = f.clone();
                if op % 8 == 4 && !f.payload.is_empty() {
                    let mut bad = f.payload.clone();
                    let pos = usize::from(bytes.next().unwrap_or(0)) * 11 % bad.len();
                    bad[pos] ^= 1 << (bytes.next().unwrap_or(0) % 8);
                    let r = devices[to].decrypt(&mut rng, now, &f.topic, &bad);
                    if let Ok(i) = r {
                        assert!(i.message.is_none(), "a tampered message decrypted");
                        let Ok(()) = i.changes.apply(&mut stores[to]);
                        queue_control(&mut flights, to, i.messages, &ids);
                    }
                }
                let r = devices[to].decrypt(&mut rng, now, &f.topic, &f.payload);
                let Ok(i) = r else {
                    panic!("a genuine message was rejected: {:?}", r.err());
                };
                let Ok(()) = i.changes.apply(&mut stores[to]);
                if let Some(m) = &i.message {
                    assert_eq!(m.sender, ids[f.from], "wrong sender");
                    assert_eq!(m.plaintext.as_slice(), f.plaintext.as_slice(), "wrong text");
                }
                queue_control(&mut flights, to, i.messages, &ids);
            }
            // Drop a message for every receiver it has not reached.
            5 => {
                if !flights.is_empty() {
                    let i = arg % flights.len();
                    flights[i].pending.clear();
                }
            }
            // Deliver a message again to a device it reached.
            6 => {
                let done: Vec<usize> = (0..flights.len())
                    .filter(|&i| !flights[i].reached.is_empty())
                    .collect();
                if done.is_empty() {
                    continue;
                }
                let f = &flights[done[arg % done.len()]];
                let to = f.reached[arg / 5 % f.reached.len()];
                let r = devices[to].decrypt(&mut rng, now, &f.topic, &f.payload);
                if let Ok(i) = r {
                    assert!(i.message.is_none(), "a message decrypted twice");
                    let Ok(()) = i.changes.apply(&mut stores[to]);
                    queue_control(&mut flights, to, i.messages, &ids);
                }
            }
            // A device restarts from its store.
            _ => {
                let d = arg % 3;
                let Ok(m) = restore(d, &stores[d]) else {
                    panic!("a device does not restore from its own store");
                };
                devices[d] = m;
            }
        }
    }
}

/// Queues the control messages (recoveries) a device sent while receiving.
fn queue_control(
    flights: &mut Vec<Flight>,
    from: usize,
    messages: Vec<crate::manager::OutgoingMessage>,
    ids: &[IdentityPublicKey; 3],
) {
    for m in messages {
        flights.push(Flight {
            from,
            pending: receivers(from, &m.recipient, ids),
            reached: Vec::new(),
            topic: m.content_topic,
            payload: m.payload,
            plaintext: Vec::new(),
        });
    }
}

/// Scripts for [`interaction`] that exercise every operation (seed corpus).
pub fn interaction_seed_inputs() -> Vec<Vec<u8>> {
    vec![
        // a1 sends, delivered to b1 and a2; b1 answers, delivered to both.
        vec![1, 2, 3, 4, 0, 0, 3, 0, 3, 0, 2, 0, 3, 0, 3, 0],
        // Out of order, with duplicates and a tampered copy.
        vec![
            9, 9, 9, 9, 0, 0, 0, 0, 1, 0, 3, 1, 3, 0, 6, 0, 4, 2, 5, 3, 3, 0, 3, 0,
        ],
        // Drops, a restart, answers.
        vec![
            7, 7, 7, 7, 0, 0, 5, 0, 0, 0, 3, 0, 7, 2, 2, 0, 3, 0, 3, 1, 7, 0, 2, 0, 3, 0,
        ],
    ]
}
