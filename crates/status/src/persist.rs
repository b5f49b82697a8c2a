//! The layers' stores on the account database.
//!
//! Both layers keep their working state in their in-memory stores; this module records
//! every write they make and commits it to SQLite in one transaction per state change
//! ([`persist`]), before the messages that change produced are published. At start
//! the in-memory stores are rebuilt from the database ([`load`]).
//!
//! - Sessions (`status-sessions`): [`RecordingSessionStore`] implements
//!   `SessionStore`/`InstallationStore` over the layer's `MemoryStore` and remembers each
//!   write; records are opaque bytes kept in the `kv` table (`sessions.device`,
//!   `sessions.peer`, `sessions.session`).
//! - Chat (`status-chat`): each `StoreChange` of an `Output` is encoded here (contacts in
//!   `contacts`, messages in `messages`, outbox, clocks and orphans in `kv`).
//!

use std::convert::Infallible;

use status_chat::GroupChat;
use status_chat::contacts::{OurSide, TheirSide};
use status_chat::group::{MembershipUpdate, SignedGroupEvent};
use status_chat::payload::ContentType;
use status_chat::reliability::{MvdsMessage, OutboxChange, OutboxEntry};
use status_chat::{
    ChatId, ChatStore as _, Contact, Emoji, GroupId, MessageId, StoreChange, StoredMessage,
};
use status_identity::IdentityPublicKey;
use status_sessions::store::StoredSession;
use status_sessions::{InstallationId, InstallationStore, SessionKey, SessionStore};
use zeroize::Zeroizing;

use crate::store::{RecordTable, StoreError, Tx};

const NS_DEVICE: &str = "sessions.device";
const NS_PEER: &str = "sessions.peer";
const NS_SESSION: &str = "sessions.session";
const NS_OUTBOX: &str = "chat.outbox";
const NS_CLOCK: &str = "chat.clock";
const NS_ORPHAN: &str = "chat.orphan";
const NS_GROUP: &str = "chat.group";

/// One write of the session layer, waiting to be committed.
enum SessionOp {
    Device(Zeroizing<Vec<u8>>),
    Peer(IdentityPublicKey, Vec<u8>),
    PeerRemoved(IdentityPublicKey),
    Session(SessionKey, Zeroizing<Vec<u8>>),
    SessionRemoved(SessionKey),
}

/// The session layer's in-memory store, remembering every write until [`persist`]
/// commits it.
#[derive(Default)]
pub struct RecordingSessionStore {
    mem: status_sessions::MemoryStore,
    // Behind a lock because the chat layer only lends out `&S`.
    pending: std::sync::Mutex<Vec<SessionOp>>,
}

impl std::fmt::Debug for RecordingSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSessionStore")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl RecordingSessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a device record is stored (the session layer can be restored).
    pub fn has_device(&self) -> bool {
        matches!(self.mem.load_device(), Ok(Some(_)))
    }

    /// Writes not yet committed.
    pub fn pending(&self) -> usize {
        self.ops().len()
    }

    fn ops(&self) -> std::sync::MutexGuard<'_, Vec<SessionOp>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&mut self, op: SessionOp) {
        self.pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(op);
    }
}

impl InstallationStore for RecordingSessionStore {
    type Error = Infallible;

    fn save_device(&mut self, record: &[u8]) -> Result<(), Infallible> {
        self.record(SessionOp::Device(Zeroizing::new(record.to_vec())));
        self.mem.save_device(record)
    }

    fn load_device(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Infallible> {
        self.mem.load_device()
    }

    fn save_peer(&mut self, identity: &IdentityPublicKey, record: &[u8]) -> Result<(), Infallible> {
        self.record(SessionOp::Peer(*identity, record.to_vec()));
        self.mem.save_peer(identity, record)
    }

    fn remove_peer(&mut self, identity: &IdentityPublicKey) -> Result<(), Infallible> {
        self.record(SessionOp::PeerRemoved(*identity));
        self.mem.remove_peer(identity)
    }

    fn load_peers(&self) -> Result<Vec<(IdentityPublicKey, Vec<u8>)>, Infallible> {
        self.mem.load_peers()
    }
}

impl SessionStore for RecordingSessionStore {
    fn save_session(&mut self, key: &SessionKey, state: &[u8]) -> Result<(), Infallible> {
        self.record(SessionOp::Session(
            key.clone(),
            Zeroizing::new(state.to_vec()),
        ));
        self.mem.save_session(key, state)
    }

    fn remove_session(&mut self, key: &SessionKey) -> Result<(), Infallible> {
        self.record(SessionOp::SessionRemoved(key.clone()));
        self.mem.remove_session(key)
    }

    fn load_sessions(&self) -> Result<Vec<StoredSession>, Infallible> {
        self.mem.load_sessions()
    }
}

pub(crate) fn session_key_bytes(key: &SessionKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + key.installation.as_str().len());
    out.extend_from_slice(key.peer.as_bytes());
    out.extend_from_slice(&key.bundle_id);
    out.extend_from_slice(key.installation.as_str().as_bytes());
    out
}

pub(crate) fn session_key_from(bytes: &[u8]) -> Option<SessionKey> {
    let peer = IdentityPublicKey::from_slice(bytes.get(..32)?).ok()?;
    let bundle_id: [u8; 32] = bytes.get(32..64)?.try_into().ok()?;
    let installation = std::str::from_utf8(bytes.get(64..)?).ok()?;
    Some(SessionKey {
        peer,
        installation: InstallationId::new(installation).ok()?,
        bundle_id,
    })
}

// --- a small length-prefixed codec for the chat layer's records -------------------

/// Format version of the chat records below.
const RECORD_V1: u8 = 1;

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    fn key(&mut self, k: &IdentityPublicKey) -> &mut Self {
        self.0.extend_from_slice(k.as_bytes());
        self
    }
    fn id(&mut self, id: &MessageId) -> &mut Self {
        self.0.extend_from_slice(&id.0);
        self
    }
    fn chat(&mut self, chat: &ChatId) -> &mut Self {
        match chat {
            ChatId::OneToOne(k) => self.u8(0).key(k),
            ChatId::Group(g) => self.u8(1).bytes(g.as_str().as_bytes()),
        }
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn key(&mut self) -> Option<IdentityPublicKey> {
        IdentityPublicKey::from_slice(self.take(32)?).ok()
    }
    fn id(&mut self) -> Option<MessageId> {
        Some(MessageId(self.take(32)?.try_into().ok()?))
    }
    fn chat(&mut self) -> Option<ChatId> {
        match self.u8()? {
            0 => Some(ChatId::OneToOne(self.key()?)),
            1 => Some(ChatId::Group(GroupId::parse(&self.string()?).ok()?)),
            _ => None,
        }
    }
    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

fn emoji_code(e: Emoji) -> u8 {
    match e {
        Emoji::Love => 1,
        Emoji::ThumbsUp => 2,
        Emoji::ThumbsDown => 3,
        Emoji::Laugh => 4,
        Emoji::Sad => 5,
        Emoji::Angry => 6,
    }
}

fn emoji_from(code: u8) -> Option<Emoji> {
    Some(match code {
        1 => Emoji::Love,
        2 => Emoji::ThumbsUp,
        3 => Emoji::ThumbsDown,
        4 => Emoji::Laugh,
        5 => Emoji::Sad,
        6 => Emoji::Angry,
        _ => return None,
    })
}

pub(crate) fn encode_contact(c: &Contact) -> Vec<u8> {
    let mut w = W::default();
    w.u8(RECORD_V1).key(&c.key);
    match &c.bundle {
        Some(b) => w.u8(1).bytes(b),
        None => w.u8(0),
    };
    w.u8(match c.ours {
        OurSide::None => 0,
        OurSide::Added => 1,
        OurSide::Declined => 2,
    });
    w.u8(match c.theirs {
        TheirSide::None => 0,
        TheirSide::Added => 1,
    });
    w.bool(c.blocked).u64(c.our_clock).u64(c.their_clock);
    match &c.their_request {
        Some(id) => w.u8(1).id(id),
        None => w.u8(0),
    };
    w.bytes(c.intro.as_bytes()).u64(c.held.len() as u64);
    for h in &c.held {
        w.bytes(h);
    }
    w.0
}

pub(crate) fn decode_contact(bytes: &[u8]) -> Option<Contact> {
    let mut r = R(bytes);
    (r.u8()? == RECORD_V1).then_some(())?;
    let mut c = Contact::new(r.key()?);
    c.bundle = match r.u8()? {
        0 => None,
        1 => Some(r.bytes()?.to_vec()),
        _ => return None,
    };
    c.ours = match r.u8()? {
        0 => OurSide::None,
        1 => OurSide::Added,
        2 => OurSide::Declined,
        _ => return None,
    };
    c.theirs = match r.u8()? {
        0 => TheirSide::None,
        1 => TheirSide::Added,
        _ => return None,
    };
    c.blocked = r.bool()?;
    c.our_clock = r.u64()?;
    c.their_clock = r.u64()?;
    c.their_request = match r.u8()? {
        0 => None,
        1 => Some(r.id()?),
        _ => return None,
    };
    c.intro = r.string()?;
    let n = r.u64()?;
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(r.bytes()?.to_vec());
    }
    c.held = held;
    r.end()?;
    Some(c)
}

pub(crate) fn encode_message(m: &StoredMessage) -> Vec<u8> {
    let mut w = W::default();
    w.u8(RECORD_V1)
        .id(&m.id)
        .chat(&m.chat)
        .key(&m.sender)
        .u64(m.clock)
        .u64(m.timestamp_ms)
        .bytes(m.text.as_bytes());
    match &m.response_to {
        Some(id) => w.u8(1).id(id),
        None => w.u8(0),
    };
    w.u8(match m.content {
        ContentType::Text => 0,
        ContentType::ContactRequest => 1,
    });
    w.u64(m.edit_clock).bool(m.deleted);
    w.u64(m.reactions.len() as u64);
    for ((k, e), (clock, retracted)) in &m.reactions {
        w.key(k).u8(emoji_code(*e)).u64(*clock).bool(*retracted);
    }
    w.u64(m.awaiting.len() as u64);
    for k in &m.awaiting {
        w.key(k);
    }
    w.u64(m.failed.len() as u64);
    for k in &m.failed {
        w.key(k);
    }
    w.bool(m.outgoing);
    w.0
}

pub(crate) fn decode_message(bytes: &[u8]) -> Option<StoredMessage> {
    let mut r = R(bytes);
    (r.u8()? == RECORD_V1).then_some(())?;
    let id = r.id()?;
    let chat = r.chat()?;
    let sender = r.key()?;
    let clock = r.u64()?;
    let timestamp_ms = r.u64()?;
    let text = r.string()?;
    let response_to = match r.u8()? {
        0 => None,
        1 => Some(r.id()?),
        _ => return None,
    };
    let content = match r.u8()? {
        0 => ContentType::Text,
        1 => ContentType::ContactRequest,
        _ => return None,
    };
    let edit_clock = r.u64()?;
    let deleted = r.bool()?;
    let mut reactions = std::collections::BTreeMap::new();
    for _ in 0..r.u64()? {
        let k = r.key()?;
        let e = emoji_from(r.u8()?)?;
        reactions.insert((k, e), (r.u64()?, r.bool()?));
    }
    let mut awaiting = std::collections::BTreeSet::new();
    for _ in 0..r.u64()? {
        awaiting.insert(r.key()?);
    }
    let mut failed = std::collections::BTreeSet::new();
    for _ in 0..r.u64()? {
        failed.insert(r.key()?);
    }
    let outgoing = r.bool()?;
    r.end()?;
    Some(StoredMessage {
        id,
        chat,
        sender,
        clock,
        timestamp_ms,
        text,
        response_to,
        content,
        edit_clock,
        deleted,
        reactions,
        awaiting,
        failed,
        outgoing,
    })
}

fn outbox_key(peer: &IdentityPublicKey, id: &[u8; 32]) -> Vec<u8> {
    let mut k = peer.as_bytes().to_vec();
    k.extend_from_slice(id);
    k
}

pub(crate) fn encode_outbox(e: &OutboxEntry) -> Vec<u8> {
    let mut w = W::default();
    w.u8(RECORD_V1)
        .key(&e.peer)
        .bytes(&e.message.group_id)
        .u64(e.message.timestamp as u64)
        .bytes(&e.message.body)
        .id(&e.app_id)
        .u64(u64::from(e.send_count))
        .u64(e.next_send_ms);
    w.0
}

pub(crate) fn decode_outbox(bytes: &[u8]) -> Option<OutboxEntry> {
    let mut r = R(bytes);
    (r.u8()? == RECORD_V1).then_some(())?;
    let entry = OutboxEntry {
        peer: r.key()?,
        message: MvdsMessage {
            group_id: r.bytes()?.to_vec(),
            timestamp: r.u64()? as i64,
            body: r.bytes()?.to_vec(),
        },
        app_id: r.id()?,
        send_count: u32::try_from(r.u64()?).ok()?,
        next_send_ms: r.u64()?,
    };
    r.end()?;
    Some(entry)
}

/// A group is kept as its signed membership events; loading replays them, so every
/// signature and admin rule is checked again.
pub(crate) fn encode_group(g: &GroupChat) -> Vec<u8> {
    let update = g.update();
    let mut w = W::default();
    w.u8(RECORD_V1).u64(update.events.len() as u64);
    for e in &update.events {
        w.bytes(&e.to_bytes());
    }
    w.0
}

pub(crate) fn decode_group(id: &[u8], bytes: &[u8]) -> Option<GroupChat> {
    let chat_id = GroupId::parse(std::str::from_utf8(id).ok()?).ok()?;
    let mut r = R(bytes);
    (r.u8()? == RECORD_V1).then_some(())?;
    let mut events = Vec::new();
    for _ in 0..r.u64()? {
        events.push(SignedGroupEvent::from_bytes(&chat_id, r.bytes()?).ok()?);
    }
    r.end()?;
    GroupChat::from_update(&MembershipUpdate { chat_id, events }).ok()
}

fn chat_key_bytes(chat: &ChatId) -> Vec<u8> {
    let mut w = W::default();
    w.chat(chat);
    w.0
}

fn corrupt(table: &'static str) -> StoreError {
    StoreError::Corrupt { table }
}

/// Commits the session layer's pending writes and the chat layer's `changes` in `tx`.
pub fn persist(
    tx: &mut Tx<'_>,
    sessions: &RecordingSessionStore,
    changes: &[StoreChange],
) -> Result<(), StoreError> {
    let ops: Vec<SessionOp> = std::mem::take(&mut *sessions.ops());
    for op in ops {
        match op {
            SessionOp::Device(record) => tx.kv_put(NS_DEVICE, b"", &record)?,
            SessionOp::Peer(k, record) => tx.kv_put(NS_PEER, k.as_bytes(), &record)?,
            SessionOp::PeerRemoved(k) => {
                tx.kv_delete(NS_PEER, k.as_bytes())?;
            }
            SessionOp::Session(key, state) => {
                tx.kv_put(NS_SESSION, &session_key_bytes(&key), &state)?;
            }
            SessionOp::SessionRemoved(key) => {
                tx.kv_delete(NS_SESSION, &session_key_bytes(&key))?;
            }
        }
    }
    for change in changes {
        match change {
            StoreChange::Contact(c) => {
                tx.record_put(RecordTable::Contacts, c.key.as_bytes(), &encode_contact(c))?;
            }
            StoreChange::Message(m) => {
                let body = encode_message(m);
                if tx
                    .message_insert(&chat_key_bytes(&m.chat), &m.id.0, &body)?
                    .is_none()
                {
                    tx.message_update(&m.id.0, &body)?;
                }
            }
            StoreChange::Outbox(OutboxChange::Put(e)) => {
                tx.kv_put(
                    NS_OUTBOX,
                    &outbox_key(&e.peer, &e.message.id().0),
                    &encode_outbox(e),
                )?;
            }
            StoreChange::Outbox(OutboxChange::Remove(peer, id)) => {
                tx.kv_delete(NS_OUTBOX, &outbox_key(peer, &id.0))?;
            }
            StoreChange::Clock(chat, clock) => {
                let (key, value) = encode_clock(chat, *clock);
                tx.kv_put(NS_CLOCK, &key, &value)?;
            }
            StoreChange::AddOrphan(target, sender, wire) => {
                let mut list = tx
                    .kv_get(NS_ORPHAN, &target.0)?
                    .map(|v| v.to_vec())
                    .unwrap_or_default();
                let mut w = W(std::mem::take(&mut list));
                w.key(sender).bytes(wire);
                tx.kv_put(NS_ORPHAN, &target.0, &w.0)?;
            }
            StoreChange::RemoveOrphans(target) => {
                tx.kv_delete(NS_ORPHAN, &target.0)?;
            }
            StoreChange::Group(g) => {
                tx.kv_put(NS_GROUP, g.id().as_str().as_bytes(), &encode_group(g))?;
            }
        }
    }
    Ok(())
}

/// A chat's Lamport clock record: the chat's key and the clock, big-endian.
pub(crate) fn decode_clock(key: &[u8], value: &[u8]) -> Option<(ChatId, u64)> {
    let chat = R(key).chat()?;
    let clock = u64::from_be_bytes(value.try_into().ok()?);
    Some((chat, clock))
}

/// The clock record of `chat` as (key, value).
pub(crate) fn encode_clock(chat: &ChatId, clock: u64) -> (Vec<u8>, [u8; 8]) {
    (chat_key_bytes(chat), clock.to_be_bytes())
}

/// The orphan list of a message (replies, edits or reactions that arrived before it):
/// (sender, signed wire bytes) pairs, one after the other.
pub(crate) fn decode_orphans(value: &[u8]) -> Option<Vec<(IdentityPublicKey, Vec<u8>)>> {
    let mut r = R(value);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let sender = r.key()?;
        let wire = r.bytes()?.to_vec();
        out.push((sender, wire));
    }
    Some(out)
}

/// An orphan list as [`decode_orphans`] reads it.
pub(crate) fn encode_orphans(list: &[(IdentityPublicKey, Vec<u8>)]) -> Vec<u8> {
    let mut w = W(Vec::new());
    for (sender, wire) in list {
        w.key(sender).bytes(wire);
    }
    w.0
}

/// Rebuilds both layers' in-memory stores from the database.
pub fn load(tx: &Tx<'_>) -> Result<(RecordingSessionStore, status_chat::MemoryStore), StoreError> {
    let mut sessions = RecordingSessionStore::new();
    if let Some(device) = tx.kv_get(NS_DEVICE, b"")? {
        let _ = sessions.mem.save_device(&device);
    }
    for (k, record) in tx.kv_scan(NS_PEER)? {
        let key = IdentityPublicKey::from_slice(&k).map_err(|_| corrupt("kv"))?;
        let _ = sessions.mem.save_peer(&key, &record);
    }
    for (k, state) in tx.kv_scan(NS_SESSION)? {
        let key = session_key_from(&k).ok_or_else(|| corrupt("kv"))?;
        let _ = sessions.mem.save_session(&key, &state);
    }
    let mut chat = status_chat::MemoryStore::new();
    for (_, record) in tx.record_scan(RecordTable::Contacts)? {
        chat.apply(StoreChange::Contact(
            decode_contact(&record).ok_or_else(|| corrupt("contacts"))?,
        ));
    }
    for (id, record) in tx.kv_scan(NS_GROUP)? {
        chat.apply(StoreChange::Group(
            decode_group(&id, &record).ok_or_else(|| corrupt("kv"))?,
        ));
    }
    for m in tx.messages_scan()? {
        chat.apply(StoreChange::Message(
            decode_message(&m.body).ok_or_else(|| corrupt("messages"))?,
        ));
    }
    for (_, record) in tx.kv_scan(NS_OUTBOX)? {
        chat.apply(StoreChange::Outbox(OutboxChange::Put(
            decode_outbox(&record).ok_or_else(|| corrupt("kv"))?,
        )));
    }
    for (k, v) in tx.kv_scan(NS_CLOCK)? {
        let (chat_id, clock) = decode_clock(&k, &v).ok_or_else(|| corrupt("kv"))?;
        chat.apply(StoreChange::Clock(chat_id, clock));
    }
    for (k, v) in tx.kv_scan(NS_ORPHAN)? {
        let target = MessageId(k.as_slice().try_into().map_err(|_| corrupt("kv"))?);
        for (sender, wire) in decode_orphans(&v).ok_or_else(|| corrupt("kv"))? {
            chat.apply(StoreChange::AddOrphan(target, sender, wire));
        }
    }
    Ok((sessions, chat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn records_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let a = *status_identity::IdentityKeyPair::generate(&mut rng).public_key();
        let b = *status_identity::IdentityKeyPair::generate(&mut rng).public_key();
        let mut c = Contact::new(a);
        c.bundle = Some(vec![1, 2, 3]);
        c.ours = OurSide::Added;
        c.theirs = TheirSide::Added;
        c.our_clock = 5;
        c.their_request = Some(MessageId([9; 32]));
        c.intro = "hi".into();
        c.held = vec![vec![4], vec![]];
        assert_eq!(decode_contact(&encode_contact(&c)), Some(c));

        let mut m = StoredMessage {
            id: MessageId([1; 32]),
            chat: ChatId::OneToOne(b),
            sender: a,
            clock: 7,
            timestamp_ms: 1_700_000_000_000,
            text: "héllo".into(),
            response_to: Some(MessageId([2; 32])),
            content: ContentType::Text,
            edit_clock: 0,
            deleted: false,
            reactions: Default::default(),
            awaiting: [b].into_iter().collect(),
            failed: Default::default(),
            outgoing: true,
        };
        m.reactions.insert((b, Emoji::Laugh), (3, false));
        let bytes = encode_message(&m);
        assert_eq!(decode_message(&bytes), Some(m));
        assert_eq!(decode_message(&bytes[..bytes.len() - 1]), None);

        let creator = status_identity::IdentityKeyPair::generate(&mut rng);
        let (group, _) = GroupChat::create(&mut rng, &creator, "friends", &[a, b], 1).unwrap();
        let bytes = encode_group(&group);
        let back = decode_group(group.id().as_str().as_bytes(), &bytes).unwrap();
        assert_eq!(back.name(), "friends");
        assert_eq!(back.members(), group.members());
        assert_eq!(back.update(), group.update());

        let key = SessionKey {
            peer: a,
            installation: InstallationId::new("device-1").unwrap(),
            bundle_id: [7; 32],
        };
        assert_eq!(session_key_from(&session_key_bytes(&key)), Some(key));
    }
}
