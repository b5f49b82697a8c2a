//! What the chat layer keeps: the [`ChatStore`] trait and [`MemoryStore`].
//!
//! The [`crate::Chat`] state machine reads through the trait and writes only by
//! [`ChatStore::apply`]ing [`StoreChange`]s, which it also returns to its caller, so a
//! persistent store can write each batch in one transaction together with the session
//! changes of the same step.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use status_identity::IdentityPublicKey;

use crate::clock::OrderKey;
use crate::contacts::{Contact, ContactState};
use crate::group::GroupChat;
use crate::ids::{ChatId, GroupId, MessageId};
use crate::payload::{ContentType, Emoji};
use crate::reliability::{MvdsId, OutboxChange, OutboxEntry};

/// Most messages waiting for the message they edit, delete or react to.
pub const MAX_ORPHANS: usize = 1024;

/// Delivery of a message we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// A message we received.
    Received,
    /// Sent, waiting for acks.
    Sending,
    /// Every recipient acknowledged it.
    Delivered,
    /// At least one recipient never acknowledged it after every retransmission.
    Failed,
}

/// A message of a chat, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its id.
    pub id: MessageId,
    /// The chat it belongs to.
    pub chat: ChatId,
    /// Its author.
    pub sender: IdentityPublicKey,
    /// Lamport clock.
    pub clock: u64,
    /// Author's wall clock, unix ms.
    pub timestamp_ms: u64,
    /// Current text (after edits; empty once deleted).
    pub text: String,
    /// The message it replies to.
    pub response_to: Option<MessageId>,
    /// Text or contact request.
    pub content: ContentType,
    /// Clock of the latest edit applied (0: never edited).
    pub edit_clock: u64,
    /// Deleted by its author.
    pub deleted: bool,
    /// Reactions: (who, emoji) → clock of the latest reaction or retraction and
    /// whether it is active.
    pub reactions: BTreeMap<(IdentityPublicKey, Emoji), (u64, bool)>,
    /// Recipients that have not acknowledged it yet (outgoing messages).
    pub awaiting: BTreeSet<IdentityPublicKey>,
    /// Recipients for which delivery failed (outgoing messages).
    pub failed: BTreeSet<IdentityPublicKey>,
    /// Whether we sent it.
    pub outgoing: bool,
}

impl StoredMessage {
    /// Where it sorts in its chat.
    pub fn order_key(&self) -> OrderKey {
        OrderKey {
            clock: self.clock,
            id: self.id,
        }
    }

    /// Delivery status.
    pub fn status(&self) -> DeliveryStatus {
        if !self.outgoing {
            DeliveryStatus::Received
        } else if !self.failed.is_empty() {
            DeliveryStatus::Failed
        } else if !self.awaiting.is_empty() {
            DeliveryStatus::Sending
        } else {
            DeliveryStatus::Delivered
        }
    }

    /// The reactions that are active, as (who, emoji).
    pub fn active_reactions(&self) -> Vec<(IdentityPublicKey, Emoji)> {
        self.reactions
            .iter()
            .filter(|(_, (_, on))| *on)
            .map(|(k, _)| *k)
            .collect()
    }
}

/// One write to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// Insert or replace a contact.
    Contact(Contact),
    /// Insert or replace a group.
    Group(GroupChat),
    /// Insert or replace a message.
    Message(StoredMessage),
    /// Change the outbox.
    Outbox(OutboxChange),
    /// Set a chat's Lamport clock.
    Clock(ChatId, u64),
    /// Keep an edit, delete or reaction (sender, encoded wrapper) until the message it
    /// targets arrives.
    AddOrphan(MessageId, IdentityPublicKey, Vec<u8>),
    /// The orphans of this target were handled.
    RemoveOrphans(MessageId),
}

/// Storage for the chat layer. Reads are plain getters; every write is a
/// [`StoreChange`] given to [`ChatStore::apply`].
pub trait ChatStore {
    /// A contact.
    fn contact(&self, key: &IdentityPublicKey) -> Option<Contact>;
    /// Every contact.
    fn contacts(&self) -> Vec<Contact>;
    /// Number of contacts in `state` (override for speed).
    fn count_contacts(&self, state: ContactState) -> usize {
        self.contacts()
            .iter()
            .filter(|c| c.state() == state)
            .count()
    }
    /// A group.
    fn group(&self, id: &GroupId) -> Option<GroupChat>;
    /// Every group.
    fn groups(&self) -> Vec<GroupChat>;
    /// A message.
    fn message(&self, id: &MessageId) -> Option<StoredMessage>;
    /// The messages of a chat, in display order ([`OrderKey`]).
    fn messages(&self, chat: &ChatId) -> Vec<StoredMessage>;
    /// The outbox (unacknowledged messages).
    fn outbox(&self) -> Vec<OutboxEntry>;
    /// A chat's Lamport clock (0 if none).
    fn clock(&self, chat: &ChatId) -> u64;
    /// Orphans waiting for `target`: (sender, encoded wrapper).
    fn orphans(&self, target: &MessageId) -> Vec<(IdentityPublicKey, Vec<u8>)>;
    /// Applies one change.
    fn apply(&mut self, change: StoreChange);
}

/// An in-memory [`ChatStore`], for tests and for callers that persist the changes
/// themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    contacts: BTreeMap<IdentityPublicKey, Contact>,
    groups: BTreeMap<GroupId, GroupChat>,
    messages: BTreeMap<MessageId, StoredMessage>,
    by_chat: BTreeMap<ChatId, BTreeSet<OrderKey>>,
    outbox: BTreeMap<(IdentityPublicKey, MvdsId), OutboxEntry>,
    clocks: BTreeMap<ChatId, u64>,
    orphans: BTreeMap<MessageId, Vec<(IdentityPublicKey, Vec<u8>)>>,
    orphan_order: VecDeque<MessageId>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ChatStore for MemoryStore {
    fn contact(&self, key: &IdentityPublicKey) -> Option<Contact> {
        self.contacts.get(key).cloned()
    }

    fn contacts(&self) -> Vec<Contact> {
        self.contacts.values().cloned().collect()
    }

    fn count_contacts(&self, state: ContactState) -> usize {
        self.contacts
            .values()
            .filter(|c| c.state() == state)
            .count()
    }

    fn group(&self, id: &GroupId) -> Option<GroupChat> {
        self.groups.get(id).cloned()
    }

    fn groups(&self) -> Vec<GroupChat> {
        self.groups.values().cloned().collect()
    }

    fn message(&self, id: &MessageId) -> Option<StoredMessage> {
        self.messages.get(id).cloned()
    }

    fn messages(&self, chat: &ChatId) -> Vec<StoredMessage> {
        self.by_chat
            .get(chat)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| self.messages.get(&k.id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn outbox(&self) -> Vec<OutboxEntry> {
        self.outbox.values().cloned().collect()
    }

    fn clock(&self, chat: &ChatId) -> u64 {
        self.clocks.get(chat).copied().unwrap_or(0)
    }

    fn orphans(&self, target: &MessageId) -> Vec<(IdentityPublicKey, Vec<u8>)> {
        self.orphans.get(target).cloned().unwrap_or_default()
    }

    fn apply(&mut self, change: StoreChange) {
        match change {
            StoreChange::Contact(c) => {
                self.contacts.insert(c.key, c);
            }
            StoreChange::Group(g) => {
                self.groups.insert(g.id().clone(), g);
            }
            StoreChange::Message(m) => {
                if let Some(old) = self.messages.get(&m.id)
                    && let Some(set) = self.by_chat.get_mut(&old.chat)
                {
                    set.remove(&old.order_key());
                }
                self.by_chat
                    .entry(m.chat.clone())
                    .or_default()
                    .insert(m.order_key());
                self.messages.insert(m.id, m);
            }
            StoreChange::Outbox(OutboxChange::Put(e)) => {
                self.outbox.insert((e.peer, e.message.id()), e);
            }
            StoreChange::Outbox(OutboxChange::Remove(peer, id)) => {
                self.outbox.remove(&(peer, id));
            }
            StoreChange::Clock(chat, c) => {
                self.clocks.insert(chat, c);
            }
            StoreChange::AddOrphan(target, sender, wire) => {
                let list = self.orphans.entry(target).or_default();
                if !list.iter().any(|(s, w)| *s == sender && *w == wire) {
                    list.push((sender, wire));
                    self.orphan_order.push_back(target);
                }
                while self.orphan_order.len() > MAX_ORPHANS {
                    if let Some(old) = self.orphan_order.pop_front()
                        && let Some(l) = self.orphans.get_mut(&old)
                    {
                        if !l.is_empty() {
                            l.remove(0);
                        }
                        if l.is_empty() {
                            self.orphans.remove(&old);
                        }
                    }
                }
            }
            StoreChange::RemoveOrphans(target) => {
                if let Some(l) = self.orphans.remove(&target) {
                    let mut n = l.len();
                    self.orphan_order.retain(|t| {
                        if *t == target && n > 0 {
                            n -= 1;
                            false
                        } else {
                            true
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use status_identity::IdentityKeyPair;

    fn msg(chat: &ChatId, sender: IdentityPublicKey, clock: u64, id: u8) -> StoredMessage {
        StoredMessage {
            id: MessageId([id; 32]),
            chat: chat.clone(),
            sender,
            clock,
            timestamp_ms: 0,
            text: format!("m{id}"),
            response_to: None,
            content: ContentType::Text,
            edit_clock: 0,
            deleted: false,
            reactions: BTreeMap::new(),
            awaiting: BTreeSet::new(),
            failed: BTreeSet::new(),
            outgoing: false,
        }
    }

    #[test]
    fn messages_come_out_in_clock_then_id_order_and_replace_in_place() {
        let k = *IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(1)).public_key();
        let chat = ChatId::OneToOne(k);
        let mut s = MemoryStore::new();
        for (clock, id) in [(5, 9), (3, 1), (5, 2), (1, 7)] {
            s.apply(StoreChange::Message(msg(&chat, k, clock, id)));
        }
        let ids: Vec<u8> = s.messages(&chat).iter().map(|m| m.id.0[0]).collect();
        assert_eq!(ids, vec![7, 1, 2, 9]);
        let mut edited = msg(&chat, k, 5, 2);
        edited.text = "edited".into();
        s.apply(StoreChange::Message(edited));
        assert_eq!(s.messages(&chat).len(), 4);
        assert_eq!(s.message(&MessageId([2; 32])).unwrap().text, "edited");
    }

    #[test]
    fn orphans_are_capped() {
        let k = *IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(1)).public_key();
        let mut s = MemoryStore::new();
        for i in 0..(MAX_ORPHANS + 10) {
            let t = MessageId([(i % 7) as u8; 32]);
            s.apply(StoreChange::AddOrphan(t, k, i.to_le_bytes().to_vec()));
        }
        let total: usize = (0..7).map(|i| s.orphans(&MessageId([i; 32])).len()).sum();
        assert_eq!(total, MAX_ORPHANS);
        s.apply(StoreChange::RemoveOrphans(MessageId([0; 32])));
        assert!(s.orphans(&MessageId([0; 32])).is_empty());
        assert!(s.orphan_order.len() < MAX_ORPHANS);
    }
}
