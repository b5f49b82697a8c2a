//! The [`Chat`] state machine: incoming Waku messages, user commands and time in;
//! outgoing Waku messages, store changes and events out.

use std::collections::BTreeSet;

use rand_core::CryptoRng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};

use crate::clock::{LamportClock, clock_acceptable};
use crate::contacts::{Contact, ContactChange, ContactError, ContactState};
use crate::group::{GroupChat, GroupError, GroupEventKind, MembershipUpdate};
use crate::ids::{ChatId, GroupId, MessageId, key_to_hex};
use crate::payload::{
    ApplicationMessage, ChatMessage, ContactReply, ContentType, DeleteMessage, EditMessage, Emoji,
    EmojiReaction, MAX_TEXT_BYTES, MessageType, PayloadError, SignedMessage, open, seal,
};
use crate::reliability::{
    DeliveryEvent, MvdsPayload, Reliability, ReliabilityConfig, ReliabilityError,
    group_chat_group_id, one_to_one_group_id,
};
use crate::store::{ChatStore, StoreChange, StoredMessage};

/// A Waku message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakuOut {
    /// Pubsub topic (static shard).
    pub pubsub_topic: String,
    /// Content topic.
    pub content_topic: String,
    /// Payload.
    pub payload: Vec<u8>,
}

/// A payload the session layer decrypted and authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The sender's identity, authenticated by the session.
    pub sender: IdentityPublicKey,
    /// The plaintext (an MVDS payload or an `ApplicationMetadataMessage`).
    pub plaintext: Vec<u8>,
}

/// What the session layer made of a Waku payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionIncoming {
    /// The message for us, if any (`None`: not for us, or a control message or bundle
    /// advert consumed by the session layer).
    pub message: Option<Decrypted>,
    /// Waku messages the session layer wants published (session recovery).
    pub messages: Vec<WakuOut>,
}

/// What the chat layer needs from the session layer below it (status-sessions): encrypt
/// to every device of an identity, decrypt and authenticate what arrives, know bundles,
/// advertise ours, and say which topics to listen to. Session state changes stay with
/// the implementation, which persists them before the returned messages leave.
pub trait SessionLayer {
    /// Why an operation failed.
    type Error: core::fmt::Debug;

    /// Encrypts `plaintext` for every device of `to` (and our other devices), choosing
    /// the topic (partitioned before the session is confirmed, negotiated after).
    fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        to: &IdentityPublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<WakuOut>, Self::Error>;

    /// Decrypts and authenticates a Waku payload.
    fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        pubsub_topic: &str,
        content_topic: &str,
        payload: &[u8],
    ) -> Result<SessionIncoming, Self::Error>;

    /// Learns `peer`'s bundle (from a contact code); an error if it is not `peer`'s.
    fn add_bundle(
        &mut self,
        now_ms: u64,
        peer: &IdentityPublicKey,
        bundle: &[u8],
    ) -> Result<(), Self::Error>;

    /// Our bundle advert for the contact-code topic.
    fn advertise<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Vec<WakuOut>, Self::Error>;

    /// The (pubsub topic, content topic) pairs to subscribe to now.
    fn subscriptions(&self) -> Vec<(String, String)>;
}

/// A store query (13/WAKU2-STORE) for what was missed while offline, for the facade's
/// store client. Its results are fed to [`Chat::handle_waku`] like live messages;
/// duplicates are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Pubsub topic.
    pub pubsub_topic: String,
    /// Content topics.
    pub content_topics: Vec<String>,
    /// Start of the time range, unix ms.
    pub start_ms: u64,
    /// End of the time range, unix ms.
    pub end_ms: u64,
}

/// Default of [`ChatConfig::max_pending_requests`].
pub const MAX_PENDING_REQUESTS: usize = 1000;

/// Margin added before the start of a history query, for clock differences (ms).
pub const HISTORY_MARGIN_MS: u64 = 120_000;

/// Configuration of a [`Chat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// Retransmission and caps.
    pub reliability: ReliabilityConfig,
    /// Our display name, sent with chat messages.
    pub display_name: String,
    /// Most unanswered contact requests kept ([`MAX_PENDING_REQUESTS`]); requests from
    /// further strangers are dropped (and counted) until some are answered.
    pub max_pending_requests: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            reliability: ReliabilityConfig::default(),
            display_name: String::new(),
            max_pending_requests: MAX_PENDING_REQUESTS,
        }
    }
}

/// What a user can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add a contact by key, with its bundle if known (from a contact code).
    AddContact {
        /// Their identity (from a chat key or contact code).
        key: IdentityPublicKey,
        /// Their prekey bundle, if a contact code carried one.
        bundle: Option<Vec<u8>>,
    },
    /// Send a contact request with an intro text.
    SendContactRequest {
        /// To whom.
        to: IdentityPublicKey,
        /// Short intro text.
        intro: String,
    },
    /// Accept their pending request.
    AcceptContact(IdentityPublicKey),
    /// Decline their pending request (local).
    DeclineContact(IdentityPublicKey),
    /// Retract our request or remove a contact.
    RetractContact(IdentityPublicKey),
    /// Block: nothing from them is processed.
    Block(IdentityPublicKey),
    /// Unblock.
    Unblock(IdentityPublicKey),
    /// Send a text, optionally as a reply.
    SendText {
        /// Where.
        chat: ChatId,
        /// The text.
        text: String,
        /// The message replied to.
        reply_to: Option<MessageId>,
    },
    /// Edit one of our messages.
    Edit {
        /// Which.
        id: MessageId,
        /// New text.
        text: String,
    },
    /// Delete one of our messages.
    Delete(MessageId),
    /// React to a message, or take the reaction back.
    React {
        /// Which message.
        id: MessageId,
        /// Which emoji.
        emoji: Emoji,
        /// True to take it back.
        retract: bool,
    },
    /// Create a group with mutual contacts.
    CreateGroup {
        /// Its name.
        name: String,
        /// Members to add (mutual contacts).
        members: Vec<IdentityPublicKey>,
    },
    /// Act on a group: rename, add or remove members, join, leave, promote, step down.
    Group {
        /// Which group.
        id: GroupId,
        /// The event.
        event: GroupEventKind,
    },
}

impl Command {
    /// [`Command::AddContact`] from a chat key (`z…`, status-identity). No bundle: messages
    /// to the contact wait until its bundle arrives (its advert on its contact-code topic,
    /// which [`Chat::subscriptions`] then includes, or a message from it).
    pub fn add_from_chat_key(chat_key: &str) -> Result<Self, status_identity::ChatKeyError> {
        let key = status_identity::ChatKey::parse(chat_key)?;
        Ok(Command::AddContact {
            key: *key.public_key(),
            bundle: None,
        })
    }

    /// [`Command::AddContact`] from a contact code (its text form), whose signature is
    /// verified; it carries the contact's bundle.
    pub fn add_from_contact_code(code: &str) -> Result<Self, status_identity::ContactCodeError> {
        let code = status_identity::ContactCode::from_uri(code)?;
        Ok(Command::AddContact {
            key: *code.identity(),
            bundle: Some(code.bundle().to_vec()),
        })
    }
}

/// Something the user should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new message in a chat.
    MessageReceived {
        /// Where.
        chat: ChatId,
        /// Which.
        id: MessageId,
    },
    /// A message was edited.
    MessageEdited {
        /// Which.
        id: MessageId,
    },
    /// A message was deleted.
    MessageDeleted {
        /// Which.
        id: MessageId,
    },
    /// The reactions of a message changed.
    ReactionsChanged {
        /// Which.
        id: MessageId,
    },
    /// Someone asks to be our contact.
    ContactRequestReceived {
        /// Who.
        from: IdentityPublicKey,
        /// The request.
        id: MessageId,
        /// Its intro text.
        intro: String,
    },
    /// We are now mutual contacts.
    ContactAdded(IdentityPublicKey),
    /// They removed us.
    ContactRemoved(IdentityPublicKey),
    /// A recipient acknowledged a message.
    Delivered {
        /// Which.
        id: MessageId,
        /// By whom.
        to: IdentityPublicKey,
    },
    /// A recipient never acknowledged a message.
    DeliveryFailed {
        /// Which.
        id: MessageId,
        /// To whom.
        to: IdentityPublicKey,
    },
    /// A contact added us to a group.
    GroupInvitation {
        /// Which.
        group: GroupId,
        /// By whom.
        from: IdentityPublicKey,
    },
    /// A group's membership, name or admins changed.
    GroupUpdated {
        /// Which.
        group: GroupId,
    },
    /// We are no longer a member of a group.
    RemovedFromGroup {
        /// Which.
        group: GroupId,
    },
}

/// The result of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Waku messages to publish.
    pub messages: Vec<WakuOut>,
    /// Events for the user.
    pub events: Vec<Event>,
    /// Store changes made (already applied to the store; persist them).
    pub changes: Vec<StoreChange>,
}

/// Why a command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A contact rule refused it.
    #[error(transparent)]
    Contact(#[from] ContactError),
    /// Chatting needs mutual contacts.
    #[error("not a mutual contact")]
    NotMutual,
    /// No such message.
    #[error("unknown message")]
    UnknownMessage,
    /// Only the author may edit or delete.
    #[error("not the author of this message")]
    NotAuthor,
    /// No such group.
    #[error("unknown group")]
    UnknownGroup,
    /// We are not a (joined) member.
    #[error("not a member of this group")]
    NotMember,
    /// A group rule refused it.
    #[error(transparent)]
    Group(#[from] GroupError),
    /// The message could not be built.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The outbox is full.
    #[error(transparent)]
    Reliability(#[from] ReliabilityError),
    /// The text is too long.
    #[error("text too long")]
    TextTooLong,
    /// The session layer refused the bundle.
    #[error("invalid bundle")]
    InvalidBundle,
}

/// Counters of what was dropped and why (peer input never panics; it is counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Payloads the session layer could not decrypt.
    pub undecryptable: u64,
    /// Application messages whose signature did not verify.
    pub bad_signature: u64,
    /// Signed application messages that could not be decoded.
    pub malformed: u64,
    /// Messages from strangers (not contact requests).
    pub from_strangers: u64,
    /// Messages from blocked peers.
    pub from_blocked: u64,
    /// 1:1 messages whose chat id is not ours.
    pub misdirected: u64,
    /// Messages whose clock is too far in the future.
    pub clock_too_far: u64,
    /// Group messages from non-members or for groups we are not in.
    pub not_member: u64,
    /// Duplicates dropped by message id.
    pub duplicates: u64,
    /// Messages held until a contact accepts.
    pub held: u64,
    /// Edits or deletes by someone else than the author.
    pub not_author: u64,
    /// Session errors while encrypting (the message stays queued).
    pub send_errors: u64,
    /// Messages from our own identity (other devices; not handled here).
    pub from_self: u64,
    /// Contact requests from strangers dropped because
    /// [`ChatConfig::max_pending_requests`] are waiting for an answer.
    pub requests_dropped: u64,
    /// Messages not acknowledged because they may be processable later (a group
    /// message before the invitation or the sender's join): the sender retransmits.
    pub deferred: u64,
}

/// The chat state machine of one account. Sans-IO: every input carries `now_ms` (unix
/// milliseconds) and an RNG; outputs are returned, never sent.
pub struct Chat<S: ChatStore> {
    identity: IdentityKeyPair,
    config: ChatConfig,
    store: S,
    reliability: Reliability,
    stats: Stats,
}

impl<S: ChatStore> core::fmt::Debug for Chat<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Chat")
            .field("identity", self.identity.public_key())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

enum Verdict {
    Ack,
    NoAck,
}

impl<S: ChatStore> Chat<S> {
    /// A chat layer over `store` (its outbox is resumed: unacknowledged messages are sent
    /// again when due).
    pub fn new(identity: IdentityKeyPair, config: ChatConfig, store: S) -> Self {
        let reliability = Reliability::restore(config.reliability, store.outbox());
        Chat {
            identity,
            config,
            store,
            reliability,
            stats: Stats::default(),
        }
    }

    /// Our public key.
    pub fn public_key(&self) -> &IdentityPublicKey {
        self.identity.public_key()
    }

    /// The store (read).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Drop counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Unacknowledged messages in the outbox.
    pub fn outstanding(&self) -> usize {
        self.reliability.outstanding()
    }

    /// When [`Chat::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.reliability.poll_timeout()
    }

    /// The (pubsub topic, content topic) pairs to subscribe to: the session layer's, plus
    /// the contact-code topic of every contact we added without a contact code (added by
    /// chat key): its bundle adverts give the session layer the bundle.
    pub fn subscriptions<L: SessionLayer>(&self, sessions: &L) -> Vec<(String, String)> {
        let mut subs = sessions.subscriptions();
        let Some(pubsub) = subs.first().map(|s| s.0.clone()) else {
            return subs;
        };
        for c in self.store.contacts() {
            if c.bundle.is_none() && !c.blocked && c.ours == crate::contacts::OurSide::Added {
                let topic = status_sessions::topics::contact_code_topic(&c.key)
                    .as_str()
                    .to_owned();
                if !subs.iter().any(|s| s.1 == topic) {
                    subs.push((pubsub.clone(), topic));
                }
            }
        }
        subs
    }

    /// The store queries to make after being offline since `offline_since_ms`: one per
    /// pubsub topic, with every content topic the session layer listens to.
    pub fn history_queries<L: SessionLayer>(
        &self,
        sessions: &L,
        offline_since_ms: u64,
        now_ms: u64,
    ) -> Vec<HistoryQuery> {
        let mut by_pubsub: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (ps, ct) in sessions.subscriptions() {
            let v = by_pubsub.entry(ps).or_default();
            if !v.contains(&ct) {
                v.push(ct);
            }
        }
        by_pubsub
            .into_iter()
            .map(|(pubsub_topic, content_topics)| HistoryQuery {
                pubsub_topic,
                content_topics,
                start_ms: offline_since_ms.saturating_sub(HISTORY_MARGIN_MS),
                end_ms: now_ms,
            })
            .collect()
    }

    /// The messages of a chat in display order.
    pub fn messages(&self, chat: &ChatId) -> Vec<StoredMessage> {
        self.store.messages(chat)
    }

    fn put(&mut self, out: &mut Output, change: StoreChange) {
        self.store.apply(change.clone());
        out.changes.push(change);
    }

    fn contact(&self, key: &IdentityPublicKey) -> Contact {
        self.store
            .contact(key)
            .unwrap_or_else(|| Contact::new(*key))
    }

    fn tick(&mut self, out: &mut Output, chat: &ChatId, now_ms: u64) -> u64 {
        let mut c = LamportClock::new(self.store.clock(chat));
        let v = c.tick(now_ms);
        self.put(out, StoreChange::Clock(chat.clone(), v));
        v
    }

    fn observe(&mut self, out: &mut Output, chat: &ChatId, clock: u64) {
        if clock > self.store.clock(chat) {
            self.put(out, StoreChange::Clock(chat.clone(), clock));
        }
    }

    /// Sends retransmissions that are due (and pending acks).
    pub fn handle_timeout<R: CryptoRng + ?Sized, L: SessionLayer>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        sessions: &mut L,
    ) -> Output {
        let mut out = Output::default();
        self.flush(rng, now_ms, sessions, &mut out);
        out
    }

    /// Our bundle advert for the contact-code topic.
    pub fn advertise<R: CryptoRng + ?Sized, L: SessionLayer>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        sessions: &mut L,
    ) -> Output {
        let mut out = Output::default();
        match sessions.advertise(rng, now_ms) {
            Ok(m) => out.messages = m,
            Err(_) => self.stats.send_errors += 1,
        }
        out
    }

    fn flush<R: CryptoRng + ?Sized, L: SessionLayer>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        sessions: &mut L,
        out: &mut Output,
    ) {
        for (peer, payload) in self.reliability.poll_transmit(now_ms) {
            match sessions.encrypt(rng, now_ms, &peer, &payload.encode()) {
                Ok(m) => out.messages.extend(m),
                Err(_) => self.stats.send_errors += 1,
            }
        }
        for change in self.reliability.take_changes() {
            self.put(out, StoreChange::Outbox(change));
        }
        for ev in self.reliability.take_events() {
            let (peer, id, ok) = match ev {
                DeliveryEvent::Acked { peer, app_id } => (peer, app_id, true),
                DeliveryEvent::Failed { peer, app_id } => (peer, app_id, false),
            };
            if let Some(mut m) = self.store.message(&id) {
                m.awaiting.remove(&peer);
                if !ok {
                    m.failed.insert(peer);
                }
                self.put(out, StoreChange::Message(m));
            }
            out.events.push(if ok {
                Event::Delivered { id, to: peer }
            } else {
                Event::DeliveryFailed { id, to: peer }
            });
        }
    }

    fn send_reliably(
        &mut self,
        now_ms: u64,
        signed: &SignedMessage,
        recipients: &BTreeSet<IdentityPublicKey>,
        group_id: &[u8],
    ) -> Result<(), CommandError> {
        for r in recipients {
            self.reliability
                .send(*r, group_id, signed.wire.clone(), signed.id, now_ms)?;
        }
        Ok(())
    }

    fn recipients(
        &self,
        chat: &ChatId,
    ) -> Result<(BTreeSet<IdentityPublicKey>, Vec<u8>), CommandError> {
        let me = *self.identity.public_key();
        match chat {
            ChatId::OneToOne(peer) => {
                if !self.contact(peer).is_mutual() {
                    return Err(CommandError::NotMutual);
                }
                Ok((
                    BTreeSet::from([*peer]),
                    one_to_one_group_id(&me, peer).to_vec(),
                ))
            }
            ChatId::Group(id) => {
                let g = self.store.group(id).ok_or(CommandError::UnknownGroup)?;
                if !g.joined().contains(&me) {
                    return Err(CommandError::NotMember);
                }
                let mut r = g.joined().clone();
                r.remove(&me);
                Ok((r, group_chat_group_id(id.as_str()).to_vec()))
            }
        }
    }

    fn wire_chat_id(&self, chat: &ChatId) -> (String, MessageType) {
        match chat {
            ChatId::OneToOne(peer) => (key_to_hex(peer), MessageType::OneToOne),
            ChatId::Group(id) => (id.as_str().to_owned(), MessageType::PrivateGroup),
        }
    }

    /// Handles a user command.
    pub fn handle_command<R: CryptoRng + ?Sized, L: SessionLayer>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        sessions: &mut L,
        command: Command,
    ) -> Result<Output, CommandError> {
        let mut out = Output::default();
        let me = *self.identity.public_key();
        match command {
            Command::AddContact { key, bundle } => {
                if key == me {
                    return Err(ContactError::Yourself.into());
                }
                let mut c = self.contact(&key);
                if let Some(b) = bundle {
                    sessions
                        .add_bundle(now_ms, &key, &b)
                        .map_err(|_| CommandError::InvalidBundle)?;
                    c.bundle = Some(b);
                }
                self.put(&mut out, StoreChange::Contact(c));
            }
            Command::SendContactRequest { to, intro } => {
                if to == me {
                    return Err(ContactError::Yourself.into());
                }
                let chat = ChatId::OneToOne(to);
                let mut c = self.contact(&to);
                let clock = LamportClock::new(self.store.clock(&chat)).tick(now_ms);
                c.request(clock, &intro)?;
                let was_mutual = self.contact(&to).is_mutual();
                let msg = ChatMessage {
                    clock,
                    timestamp_ms: now_ms,
                    text: intro,
                    response_to: None,
                    chat_id: key_to_hex(&to),
                    message_type: MessageType::OneToOne,
                    content: ContentType::ContactRequest,
                    display_name: self.config.display_name.clone(),
                };
                let signed = seal(&self.identity, &ApplicationMessage::Chat(msg.clone()))?;
                self.send_reliably(
                    now_ms,
                    &signed,
                    &BTreeSet::from([to]),
                    &one_to_one_group_id(&me, &to),
                )?;
                self.tick(&mut out, &chat, now_ms);
                let mutual = c.is_mutual();
                self.put(&mut out, StoreChange::Contact(c));
                self.store_outgoing(&mut out, &signed, &chat, &msg, BTreeSet::from([to]));
                if mutual && !was_mutual {
                    out.events.push(Event::ContactAdded(to));
                }
            }
            Command::AcceptContact(key) => {
                let chat = ChatId::OneToOne(key);
                let mut c = self.contact(&key);
                let clock = LamportClock::new(self.store.clock(&chat)).tick(now_ms);
                c.accept(clock)?;
                let signed = seal(
                    &self.identity,
                    &ApplicationMessage::AcceptContact(ContactReply {
                        request_id: c.their_request,
                        clock,
                    }),
                )?;
                self.send_reliably(
                    now_ms,
                    &signed,
                    &BTreeSet::from([key]),
                    &one_to_one_group_id(&me, &key),
                )?;
                self.tick(&mut out, &chat, now_ms);
                self.put(&mut out, StoreChange::Contact(c));
                out.events.push(Event::ContactAdded(key));
            }
            Command::DeclineContact(key) => {
                let mut c = self.contact(&key);
                c.decline()?;
                self.put(&mut out, StoreChange::Contact(c));
            }
            Command::RetractContact(key) => {
                let chat = ChatId::OneToOne(key);
                let mut c = self.contact(&key);
                let clock = LamportClock::new(self.store.clock(&chat)).tick(now_ms);
                c.retract(clock)?;
                let signed = seal(
                    &self.identity,
                    &ApplicationMessage::RetractContact(ContactReply {
                        request_id: None,
                        clock,
                    }),
                )?;
                self.send_reliably(
                    now_ms,
                    &signed,
                    &BTreeSet::from([key]),
                    &one_to_one_group_id(&me, &key),
                )?;
                self.tick(&mut out, &chat, now_ms);
                self.put(&mut out, StoreChange::Contact(c));
            }
            Command::Block(key) => {
                let mut c = self.contact(&key);
                c.block();
                self.put(&mut out, StoreChange::Contact(c));
            }
            Command::Unblock(key) => {
                let mut c = self.contact(&key);
                c.unblock();
                self.put(&mut out, StoreChange::Contact(c));
            }
            Command::SendText {
                chat,
                text,
                reply_to,
            } => {
                if text.len() > MAX_TEXT_BYTES {
                    return Err(CommandError::TextTooLong);
                }
                let (recipients, gid) = self.recipients(&chat)?;
                let (chat_id, message_type) = self.wire_chat_id(&chat);
                let clock = LamportClock::new(self.store.clock(&chat)).tick(now_ms);
                let msg = ChatMessage {
                    clock,
                    timestamp_ms: now_ms,
                    text,
                    response_to: reply_to,
                    chat_id,
                    message_type,
                    content: ContentType::Text,
                    display_name: self.config.display_name.clone(),
                };
                let signed = seal(&self.identity, &ApplicationMessage::Chat(msg.clone()))?;
                self.send_reliably(now_ms, &signed, &recipients, &gid)?;
                self.tick(&mut out, &chat, now_ms);
                self.store_outgoing(&mut out, &signed, &chat, &msg, recipients);
            }
            Command::Edit { id, text } => {
                if text.len() > MAX_TEXT_BYTES {
                    return Err(CommandError::TextTooLong);
                }
                let mut m = self.own_message(&id)?;
                let (recipients, gid) = self.recipients(&m.chat)?;
                let (chat_id, message_type) = self.wire_chat_id(&m.chat);
                let clock = LamportClock::new(self.store.clock(&m.chat)).tick(now_ms);
                let signed = seal(
                    &self.identity,
                    &ApplicationMessage::Edit(EditMessage {
                        clock,
                        chat_id,
                        message_id: id,
                        text: text.clone(),
                        message_type,
                    }),
                )?;
                self.send_reliably(now_ms, &signed, &recipients, &gid)?;
                self.tick(&mut out, &m.chat.clone(), now_ms);
                m.text = text;
                m.edit_clock = clock;
                self.put(&mut out, StoreChange::Message(m));
            }
            Command::Delete(id) => {
                let mut m = self.own_message(&id)?;
                let (recipients, gid) = self.recipients(&m.chat)?;
                let (chat_id, message_type) = self.wire_chat_id(&m.chat);
                let clock = LamportClock::new(self.store.clock(&m.chat)).tick(now_ms);
                let signed = seal(
                    &self.identity,
                    &ApplicationMessage::Delete(DeleteMessage {
                        clock,
                        chat_id,
                        message_id: id,
                        message_type,
                    }),
                )?;
                self.send_reliably(now_ms, &signed, &recipients, &gid)?;
                self.tick(&mut out, &m.chat.clone(), now_ms);
                m.deleted = true;
                m.text.clear();
                self.put(&mut out, StoreChange::Message(m));
            }
            Command::React { id, emoji, retract } => {
                let mut m = self
                    .store
                    .message(&id)
                    .ok_or(CommandError::UnknownMessage)?;
                let (recipients, gid) = self.recipients(&m.chat)?;
                let (chat_id, message_type) = self.wire_chat_id(&m.chat);
                let clock = LamportClock::new(self.store.clock(&m.chat)).tick(now_ms);
                let signed = seal(
                    &self.identity,
                    &ApplicationMessage::Reaction(EmojiReaction {
                        clock,
                        chat_id,
                        message_id: id,
                        message_type,
                        emoji,
                        retracted: retract,
                    }),
                )?;
                self.send_reliably(now_ms, &signed, &recipients, &gid)?;
                self.tick(&mut out, &m.chat.clone(), now_ms);
                m.reactions.insert((me, emoji), (clock, !retract));
                self.put(&mut out, StoreChange::Message(m));
            }
            Command::CreateGroup { name, members } => {
                for m in &members {
                    if !self.contact(m).is_mutual() {
                        return Err(CommandError::NotMutual);
                    }
                }
                let (g, update) = GroupChat::create(rng, &self.identity, &name, &members, now_ms)?;
                let mut recipients = g.members().clone();
                recipients.remove(&me);
                self.send_group_update(now_ms, &g, update, &recipients)?;
                self.put(&mut out, StoreChange::Group(g));
            }
            Command::Group { id, event } => {
                let mut g = self.store.group(&id).ok_or(CommandError::UnknownGroup)?;
                let mut recipients = g.members().clone();
                let update = g.act(&self.identity, now_ms, event)?;
                recipients.extend(g.members().iter().copied());
                recipients.remove(&me);
                self.send_group_update(now_ms, &g, update, &recipients)?;
                let removed = !g.is_member(&me);
                self.put(&mut out, StoreChange::Group(g));
                if removed {
                    out.events.push(Event::RemovedFromGroup { group: id });
                }
            }
        }
        self.flush(rng, now_ms, sessions, &mut out);
        Ok(out)
    }

    fn send_group_update(
        &mut self,
        now_ms: u64,
        g: &GroupChat,
        update: MembershipUpdate,
        recipients: &BTreeSet<IdentityPublicKey>,
    ) -> Result<(), CommandError> {
        let signed = seal(&self.identity, &ApplicationMessage::Membership(update))?;
        self.send_reliably(
            now_ms,
            &signed,
            recipients,
            &group_chat_group_id(g.id().as_str()),
        )
    }

    fn own_message(&self, id: &MessageId) -> Result<StoredMessage, CommandError> {
        let m = self.store.message(id).ok_or(CommandError::UnknownMessage)?;
        if m.sender != *self.identity.public_key() || m.deleted {
            return Err(CommandError::NotAuthor);
        }
        Ok(m)
    }

    fn store_outgoing(
        &mut self,
        out: &mut Output,
        signed: &SignedMessage,
        chat: &ChatId,
        msg: &ChatMessage,
        awaiting: BTreeSet<IdentityPublicKey>,
    ) {
        let m = StoredMessage {
            id: signed.id,
            chat: chat.clone(),
            sender: signed.sender,
            clock: msg.clock,
            timestamp_ms: msg.timestamp_ms,
            text: msg.text.clone(),
            response_to: msg.response_to,
            content: msg.content,
            edit_clock: 0,
            deleted: false,
            reactions: Default::default(),
            awaiting,
            failed: BTreeSet::new(),
            outgoing: true,
        };
        self.put(out, StoreChange::Message(m));
    }

    /// Handles a Waku message received on `pubsub_topic` / `content_topic`.
    pub fn handle_waku<R: CryptoRng + ?Sized, L: SessionLayer>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        sessions: &mut L,
        pubsub_topic: &str,
        content_topic: &str,
        payload: &[u8],
    ) -> Output {
        let mut out = Output::default();
        let incoming = match sessions.decrypt(rng, now_ms, pubsub_topic, content_topic, payload) {
            Ok(i) => i,
            Err(_) => {
                self.stats.undecryptable += 1;
                return out;
            }
        };
        out.messages.extend(incoming.messages);
        if let Some(d) = incoming.message {
            self.handle_decrypted(now_ms, d.sender, &d.plaintext, &mut out);
        }
        self.flush(rng, now_ms, sessions, &mut out);
        out
    }

    /// Handles a plaintext the session layer authenticated as coming from `sender`.
    fn handle_decrypted(
        &mut self,
        now_ms: u64,
        sender: IdentityPublicKey,
        plaintext: &[u8],
        out: &mut Output,
    ) {
        if sender == *self.identity.public_key() {
            self.stats.from_self += 1;
            return;
        }
        let cap = self.reliability.config().max_records_per_payload;
        match MvdsPayload::decode(plaintext, cap) {
            Some(p) => {
                for m in self.reliability.receive(sender, p) {
                    if let Verdict::Ack = self.handle_wire(now_ms, sender, &m.body, out) {
                        self.reliability.queue_ack(sender, m.id());
                    }
                }
            }
            None => {
                let _ = self.handle_wire(now_ms, sender, plaintext, out);
            }
        }
    }

    fn handle_wire(
        &mut self,
        now_ms: u64,
        sender: IdentityPublicKey,
        wire: &[u8],
        out: &mut Output,
    ) -> Verdict {
        match open(&sender, wire) {
            Ok(signed) => self.dispatch(now_ms, signed, out),
            Err(
                PayloadError::BadSignature
                | PayloadError::SignatureLength(_)
                | PayloadError::Malformed
                | PayloadError::TooLarge(_),
            ) => {
                self.stats.bad_signature += 1;
                Verdict::NoAck
            }
            Err(_) => {
                // Signed by the sender but not understood: acknowledge, so it is not
                // retransmitted forever.
                self.stats.malformed += 1;
                Verdict::Ack
            }
        }
    }

    fn resolve_chat(
        &mut self,
        sender: &IdentityPublicKey,
        chat_id: &str,
        message_type: MessageType,
    ) -> Result<ChatId, Verdict> {
        match message_type {
            MessageType::OneToOne => {
                if chat_id != key_to_hex(self.identity.public_key()) {
                    self.stats.misdirected += 1;
                    return Err(Verdict::Ack);
                }
                if !self.contact(sender).is_mutual() {
                    self.stats.from_strangers += 1;
                    return Err(Verdict::Ack);
                }
                Ok(ChatId::OneToOne(*sender))
            }
            MessageType::PrivateGroup => {
                let me = self.identity.public_key();
                let Ok(id) = GroupId::parse(chat_id) else {
                    self.stats.malformed += 1;
                    return Err(Verdict::Ack);
                };
                // An unknown group, or a sender whose join we have not seen yet, may be
                // reordering: not acknowledged, so the sender retransmits later.
                let Some(g) = self.store.group(&id) else {
                    self.stats.deferred += 1;
                    return Err(Verdict::NoAck);
                };
                if !g.is_member(me) {
                    self.stats.not_member += 1;
                    return Err(Verdict::Ack);
                }
                if !g.joined().contains(sender) {
                    self.stats.deferred += 1;
                    return Err(Verdict::NoAck);
                }
                Ok(ChatId::Group(id))
            }
        }
    }

    fn dispatch(&mut self, now_ms: u64, signed: SignedMessage, out: &mut Output) -> Verdict {
        let sender = signed.sender;
        let mut contact = self.contact(&sender);
        if contact.blocked {
            self.stats.from_blocked += 1;
            return Verdict::Ack;
        }
        if !clock_acceptable(signed.message.clock(), now_ms) {
            // Perhaps only our clock is late: let the sender retransmit.
            self.stats.clock_too_far += 1;
            return Verdict::NoAck;
        }
        match &signed.message {
            ApplicationMessage::Chat(m) if m.content == ContentType::ContactRequest => {
                if m.message_type != MessageType::OneToOne
                    || m.chat_id != key_to_hex(self.identity.public_key())
                {
                    self.stats.misdirected += 1;
                    return Verdict::Ack;
                }
                if self.store.contact(&sender).is_none()
                    && self.store.count_contacts(ContactState::RequestReceived)
                        >= self.config.max_pending_requests
                {
                    self.stats.requests_dropped += 1;
                    return Verdict::Ack;
                }
                let change = contact.on_request(m.clock, signed.id, &m.text);
                let declined = contact.state() == ContactState::Declined;
                self.put(out, StoreChange::Contact(contact));
                if declined {
                    return Verdict::Ack;
                }
                let chat = ChatId::OneToOne(sender);
                self.store_incoming(now_ms, &signed, chat, m, out);
                self.contact_change(now_ms, sender, change, out);
            }
            ApplicationMessage::Chat(m) => {
                if m.message_type == MessageType::OneToOne
                    && m.chat_id == key_to_hex(self.identity.public_key())
                    && !contact.is_mutual()
                {
                    if contact.hold(signed.wire.clone()) {
                        self.stats.held += 1;
                        self.put(out, StoreChange::Contact(contact));
                    } else {
                        self.stats.from_strangers += 1;
                    }
                    return Verdict::Ack;
                }
                match self.resolve_chat(&sender, &m.chat_id, m.message_type) {
                    Ok(chat) => self.store_incoming(now_ms, &signed, chat, m, out),
                    Err(v) => return v,
                }
            }
            ApplicationMessage::Edit(e) => {
                let chat = match self.resolve_chat(&sender, &e.chat_id, e.message_type) {
                    Ok(c) => c,
                    Err(v) => return v,
                };
                let Some(mut t) = self.target(&signed, &e.message_id, &chat, out) else {
                    return Verdict::Ack;
                };
                if t.sender != sender {
                    self.stats.not_author += 1;
                } else if e.clock > t.edit_clock && !t.deleted {
                    t.text = e.text.clone();
                    t.edit_clock = e.clock;
                    self.observe(out, &chat, e.clock);
                    self.put(out, StoreChange::Message(t));
                    out.events.push(Event::MessageEdited { id: e.message_id });
                }
            }
            ApplicationMessage::Delete(d) => {
                let chat = match self.resolve_chat(&sender, &d.chat_id, d.message_type) {
                    Ok(c) => c,
                    Err(v) => return v,
                };
                let Some(mut t) = self.target(&signed, &d.message_id, &chat, out) else {
                    return Verdict::Ack;
                };
                if t.sender != sender {
                    self.stats.not_author += 1;
                } else if !t.deleted {
                    t.deleted = true;
                    t.text.clear();
                    self.observe(out, &chat, d.clock);
                    self.put(out, StoreChange::Message(t));
                    out.events.push(Event::MessageDeleted { id: d.message_id });
                }
            }
            ApplicationMessage::Reaction(r) => {
                let chat = match self.resolve_chat(&sender, &r.chat_id, r.message_type) {
                    Ok(c) => c,
                    Err(v) => return v,
                };
                let Some(mut t) = self.target(&signed, &r.message_id, &chat, out) else {
                    return Verdict::Ack;
                };
                let slot = t.reactions.entry((sender, r.emoji)).or_insert((0, false));
                if r.clock > slot.0 {
                    *slot = (r.clock, !r.retracted);
                    self.observe(out, &chat, r.clock);
                    self.put(out, StoreChange::Message(t));
                    out.events
                        .push(Event::ReactionsChanged { id: r.message_id });
                }
            }
            ApplicationMessage::AcceptContact(r) => {
                let change = contact.on_accept(r.clock);
                self.put(out, StoreChange::Contact(contact));
                self.contact_change(now_ms, sender, change, out);
            }
            ApplicationMessage::RetractContact(r) => {
                let change = contact.on_retract(r.clock);
                self.put(out, StoreChange::Contact(contact));
                self.contact_change(now_ms, sender, change, out);
            }
            ApplicationMessage::Membership(u) => return self.membership(sender, &contact, u, out),
        }
        Verdict::Ack
    }

    /// The message an edit, delete or reaction targets, in the same chat. If it has not
    /// arrived yet, the edit is kept as an orphan.
    fn target(
        &mut self,
        signed: &SignedMessage,
        target: &MessageId,
        chat: &ChatId,
        out: &mut Output,
    ) -> Option<StoredMessage> {
        match self.store.message(target) {
            Some(t) if t.chat == *chat => Some(t),
            Some(_) => {
                self.stats.misdirected += 1;
                None
            }
            None => {
                self.put(
                    out,
                    StoreChange::AddOrphan(*target, signed.sender, signed.wire.clone()),
                );
                None
            }
        }
    }

    fn contact_change(
        &mut self,
        now_ms: u64,
        sender: IdentityPublicKey,
        change: Option<ContactChange>,
        out: &mut Output,
    ) {
        match change {
            Some(ContactChange::RequestReceived { id, intro }) => {
                out.events.push(Event::ContactRequestReceived {
                    from: sender,
                    id,
                    intro,
                });
            }
            Some(ContactChange::BecameMutual) => {
                out.events.push(Event::ContactAdded(sender));
                let mut c = self.contact(&sender);
                let held = std::mem::take(&mut c.held);
                if !held.is_empty() {
                    self.put(out, StoreChange::Contact(c));
                }
                for wire in held {
                    if let Ok(signed) = open(&sender, &wire) {
                        let _ = self.dispatch(now_ms, signed, out);
                    }
                }
            }
            Some(ContactChange::Retracted) => out.events.push(Event::ContactRemoved(sender)),
            None => {}
        }
    }

    fn store_incoming(
        &mut self,
        now_ms: u64,
        signed: &SignedMessage,
        chat: ChatId,
        m: &ChatMessage,
        out: &mut Output,
    ) {
        if self.store.message(&signed.id).is_some() {
            self.stats.duplicates += 1;
            return;
        }
        self.observe(out, &chat, m.clock);
        let stored = StoredMessage {
            id: signed.id,
            chat: chat.clone(),
            sender: signed.sender,
            clock: m.clock,
            timestamp_ms: m.timestamp_ms,
            text: m.text.clone(),
            response_to: m.response_to,
            content: m.content,
            edit_clock: 0,
            deleted: false,
            reactions: Default::default(),
            awaiting: BTreeSet::new(),
            failed: BTreeSet::new(),
            outgoing: false,
        };
        self.put(out, StoreChange::Message(stored));
        out.events.push(Event::MessageReceived {
            chat,
            id: signed.id,
        });
        let orphans = self.store.orphans(&signed.id);
        if !orphans.is_empty() {
            self.put(out, StoreChange::RemoveOrphans(signed.id));
            for (s, wire) in orphans {
                if let Ok(o) = open(&s, &wire) {
                    let _ = self.dispatch(now_ms, o, out);
                }
            }
        }
    }

    fn membership(
        &mut self,
        sender: IdentityPublicKey,
        contact: &Contact,
        u: &MembershipUpdate,
        out: &mut Output,
    ) -> Verdict {
        let me = *self.identity.public_key();
        match self.store.group(&u.chat_id) {
            Some(mut g) => {
                if !g.is_member(&sender) {
                    self.stats.not_member += 1;
                    return Verdict::Ack;
                }
                let was_member = g.is_member(&me);
                match g.merge(u) {
                    Ok(delta) if delta.new_events > 0 => {
                        let now_member = g.is_member(&me);
                        let id = g.id().clone();
                        self.put(out, StoreChange::Group(g));
                        out.events.push(if was_member && !now_member {
                            Event::RemovedFromGroup { group: id }
                        } else {
                            Event::GroupUpdated { group: id }
                        });
                    }
                    Ok(_) => {}
                    Err(_) => self.stats.malformed += 1,
                }
            }
            None => {
                if !contact.is_mutual() {
                    // Perhaps a member's update overtook the invitation of the admin who
                    // is our contact: not acknowledged, so it comes again later.
                    self.stats.deferred += 1;
                    return Verdict::NoAck;
                }
                match GroupChat::from_update(u) {
                    Ok(g) if g.is_member(&me) && g.is_member(&sender) => {
                        let id = g.id().clone();
                        self.put(out, StoreChange::Group(g));
                        out.events.push(Event::GroupInvitation {
                            group: id,
                            from: sender,
                        });
                    }
                    Ok(_) => self.stats.not_member += 1,
                    Err(_) => self.stats.malformed += 1,
                }
            }
        }
        Verdict::Ack
    }

    #[doc(hidden)]
    /// Test hook: handles a plaintext as if a session had authenticated it as coming from
    /// `sender` (for fuzzing the layers above the session).
    pub fn handle_plaintext_for_testing(
        &mut self,
        now_ms: u64,
        sender: IdentityPublicKey,
        plaintext: &[u8],
    ) -> Output {
        let mut out = Output::default();
        self.handle_decrypted(now_ms, sender, plaintext, &mut out);
        out
    }
}
