//! Private group chats of 55/STATUS-1TO1-CHAT: signed membership events and the rules that
//! turn a set of them into the group's state.
//!
//! A group is the set of its signed events. Every update carries all events the sender
//! knows; the receiver takes the union and folds it again in a deterministic order
//! (clock, then signature bytes), so every member converges on the same state whatever the
//! arrival order. The fold enforces 55's rules: the first event is `CHAT_CREATED` by the
//! creator named in the chat id, events with an older clock than the creation are
//! discarded, only admins rename, add members, promote admins or remove members, admins
//! cannot remove other admins, an admin can only demote itself, anyone can leave, and
//! only added members can join. Rule-breaking events are kept in the set but ignored.
//!
//! Each event travels as `signature(64) || author(32) || encoded MembershipUpdateEvent`:
//! 55 puts a 65-byte recoverable secp256k1 signature first and recovers the author from
//! it; Ed25519 cannot recover keys, so the 32-byte author key follows the signature. The
//! signature covers `u16 BE len(chat_id) || chat_id || encoded event` with the
//! [`SignatureContext::MembershipUpdate`] label, so an event cannot be replayed into
//! another group.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message as _;
use status_identity::{IdentityKeyPair, IdentityPublicKey, Signature, SignatureContext};

use crate::ids::{GroupId, IdError, key_from_hex, key_to_hex};
use crate::proto::protobuf as pb;

/// Most members (added or joined) a group may have.
pub const MAX_GROUP_MEMBERS: usize = 20;
/// Most events a group keeps (and an update may carry).
pub const MAX_GROUP_EVENTS: usize = 1000;
/// Longest group name, in bytes.
pub const MAX_GROUP_NAME_BYTES: usize = 100;
/// Longest colour string, in bytes.
pub const MAX_GROUP_COLOR_BYTES: usize = 16;
/// Largest group image, in bytes.
pub const MAX_GROUP_IMAGE_BYTES: usize = 32 * 1024;

const SIG: usize = 64;
const KEY: usize = 32;

/// Why a group update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The chat id is not a valid group id.
    #[error("invalid group chat id")]
    ChatId,
    /// An event element is shorter than signature + author.
    #[error("event element too short")]
    EventTooShort,
    /// An event's author key is invalid.
    #[error("event author key is invalid")]
    EventAuthor,
    /// An event's signature does not verify.
    #[error("event signature does not verify")]
    EventSignature,
    /// An event is not a valid `MembershipUpdateEvent`.
    #[error("malformed event")]
    EventMalformed,
    /// An event type this implementation does not know.
    #[error("unknown event type {0}")]
    UnknownEventType(i32),
    /// A member key in an event is invalid.
    #[error("invalid member key: {0}")]
    Member(IdError),
    /// A field is over its size limit.
    #[error("field {0} too long")]
    FieldTooLong(&'static str),
    /// Too many events in the update or in the group.
    #[error("too many events ({0})")]
    TooManyEvents(usize),
    /// The events hold no valid creation event.
    #[error("no valid CHAT_CREATED event")]
    NotCreated,
    /// The update is for another group.
    #[error("update is for another group")]
    WrongGroup,
    /// The caller may not do this (not an admin, not a member, would break a rule).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEventKind {
    /// `CHAT_CREATED`: the first event, by the creator.
    Created {
        /// Initial name.
        name: String,
        /// Initial colour.
        color: String,
    },
    /// `NAME_CHANGED` by an admin.
    NameChanged(String),
    /// `MEMBERS_ADDED` by an admin.
    MembersAdded(Vec<IdentityPublicKey>),
    /// `MEMBER_JOINED`: the author accepts an invitation.
    MemberJoined,
    /// `MEMBER_REMOVED`: an admin removes a member, or the author leaves.
    MemberRemoved(IdentityPublicKey),
    /// `ADMINS_ADDED` by an admin.
    AdminsAdded(Vec<IdentityPublicKey>),
    /// `ADMIN_REMOVED`: an admin steps down (only itself).
    AdminRemoved(IdentityPublicKey),
    /// `COLOR_CHANGED` by an admin.
    ColorChanged(String),
    /// `IMAGE_CHANGED` by an admin.
    ImageChanged(Vec<u8>),
}

/// A membership event with its Lamport clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEvent {
    /// Lamport clock of the group.
    pub clock: u64,
    /// What it does.
    pub kind: GroupEventKind,
}

impl GroupEvent {
    fn to_proto(&self) -> pb::MembershipUpdateEvent {
        use pb::membership_update_event::EventType as T;
        let mut e = pb::MembershipUpdateEvent {
            clock: self.clock,
            ..Default::default()
        };
        let keys = |v: &[IdentityPublicKey]| v.iter().map(key_to_hex).collect();
        let t = match &self.kind {
            GroupEventKind::Created { name, color } => {
                e.name = name.clone();
                e.color = color.clone();
                T::ChatCreated
            }
            GroupEventKind::NameChanged(n) => {
                e.name = n.clone();
                T::NameChanged
            }
            GroupEventKind::MembersAdded(m) => {
                e.members = keys(m);
                T::MembersAdded
            }
            GroupEventKind::MemberJoined => T::MemberJoined,
            GroupEventKind::MemberRemoved(m) => {
                e.members = vec![key_to_hex(m)];
                T::MemberRemoved
            }
            GroupEventKind::AdminsAdded(m) => {
                e.members = keys(m);
                T::AdminsAdded
            }
            GroupEventKind::AdminRemoved(m) => {
                e.members = vec![key_to_hex(m)];
                T::AdminRemoved
            }
            GroupEventKind::ColorChanged(c) => {
                e.color = c.clone();
                T::ColorChanged
            }
            GroupEventKind::ImageChanged(i) => {
                e.image = i.clone();
                T::ImageChanged
            }
        };
        e.r#type = t as i32;
        e
    }

    fn from_proto(e: pb::MembershipUpdateEvent) -> Result<Self, GroupError> {
        use pb::membership_update_event::EventType as T;
        if e.name.len() > MAX_GROUP_NAME_BYTES {
            return Err(GroupError::FieldTooLong("name"));
        }
        if e.color.len() > MAX_GROUP_COLOR_BYTES {
            return Err(GroupError::FieldTooLong("color"));
        }
        if e.image.len() > MAX_GROUP_IMAGE_BYTES {
            return Err(GroupError::FieldTooLong("image"));
        }
        if e.members.len() > MAX_GROUP_MEMBERS {
            return Err(GroupError::FieldTooLong("members"));
        }
        let members = e
            .members
            .iter()
            .map(|m| key_from_hex(m).map_err(GroupError::Member))
            .collect::<Result<Vec<_>, _>>()?;
        let one = |m: Vec<IdentityPublicKey>| match m.as_slice() {
            [k] => Ok(*k),
            _ => Err(GroupError::EventMalformed),
        };
        let kind = match T::try_from(e.r#type) {
            Ok(T::ChatCreated) => GroupEventKind::Created {
                name: e.name,
                color: e.color,
            },
            Ok(T::NameChanged) => GroupEventKind::NameChanged(e.name),
            Ok(T::MembersAdded) => GroupEventKind::MembersAdded(members),
            Ok(T::MemberJoined) => GroupEventKind::MemberJoined,
            Ok(T::MemberRemoved) => GroupEventKind::MemberRemoved(one(members)?),
            Ok(T::AdminsAdded) => GroupEventKind::AdminsAdded(members),
            Ok(T::AdminRemoved) => GroupEventKind::AdminRemoved(one(members)?),
            Ok(T::ColorChanged) => GroupEventKind::ColorChanged(e.color),
            Ok(T::ImageChanged) => GroupEventKind::ImageChanged(e.image),
            _ => return Err(GroupError::UnknownEventType(e.r#type)),
        };
        Ok(GroupEvent {
            clock: e.clock,
            kind,
        })
    }
}

/// A verified event: who signed it, and the bytes it travels as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedGroupEvent {
    /// The author (whose signature verified).
    pub author: IdentityPublicKey,
    /// The event.
    pub event: GroupEvent,
    signature: Signature,
    encoded: Vec<u8>,
}

fn signed_material(chat_id: &GroupId, encoded: &[u8]) -> Vec<u8> {
    let id = chat_id.as_str().as_bytes();
    let mut m = Vec::with_capacity(2 + id.len() + encoded.len());
    // A group id is at most 103 bytes, so the u16 length cannot overflow.
    m.extend_from_slice(&(id.len() as u16).to_be_bytes());
    m.extend_from_slice(id);
    m.extend_from_slice(encoded);
    m
}

impl SignedGroupEvent {
    /// Signs `event` for group `chat_id`.
    pub fn sign(identity: &IdentityKeyPair, chat_id: &GroupId, event: GroupEvent) -> Self {
        let encoded = event.to_proto().encode_to_vec();
        let signature = identity.sign(
            SignatureContext::MembershipUpdate,
            &signed_material(chat_id, &encoded),
        );
        SignedGroupEvent {
            author: *identity.public_key(),
            event,
            signature,
            encoded,
        }
    }

    /// The wire element: `signature || author || encoded event`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(SIG + KEY + self.encoded.len());
        v.extend_from_slice(self.signature.as_bytes());
        v.extend_from_slice(self.author.as_bytes());
        v.extend_from_slice(&self.encoded);
        v
    }

    /// Parses and verifies a wire element for group `chat_id`.
    pub fn from_bytes(chat_id: &GroupId, bytes: &[u8]) -> Result<Self, GroupError> {
        if bytes.len() < SIG + KEY {
            return Err(GroupError::EventTooShort);
        }
        let (sig, rest) = bytes.split_at(SIG);
        let (author, encoded) = rest.split_at(KEY);
        let signature = Signature::from_slice(sig).map_err(|_| GroupError::EventSignature)?;
        let author = IdentityPublicKey::from_slice(author).map_err(|_| GroupError::EventAuthor)?;
        author
            .verify(
                SignatureContext::MembershipUpdate,
                &signed_material(chat_id, encoded),
                &signature,
            )
            .map_err(|_| GroupError::EventSignature)?;
        let event = GroupEvent::from_proto(
            pb::MembershipUpdateEvent::decode(encoded).map_err(|_| GroupError::EventMalformed)?,
        )?;
        Ok(SignedGroupEvent {
            author,
            event,
            signature,
            encoded: encoded.to_vec(),
        })
    }

    fn order_key(&self) -> (u64, [u8; SIG]) {
        (self.event.clock, self.signature.to_bytes())
    }
}

/// A `MembershipUpdateMessage`: the group id and the (verified) events the sender knows.
///
/// The optional `chat_entity` of 55 is not used: group chat messages travel as
/// `ChatMessage`s with message type `PRIVATE_GROUP` (as status-go sends them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipUpdate {
    /// The group.
    pub chat_id: GroupId,
    /// Its events.
    pub events: Vec<SignedGroupEvent>,
}

impl MembershipUpdate {
    pub(crate) fn to_proto(&self) -> pb::MembershipUpdateMessage {
        pb::MembershipUpdateMessage {
            chat_id: self.chat_id.as_str().to_owned(),
            events: self.events.iter().map(SignedGroupEvent::to_bytes).collect(),
            chat_entity: None,
        }
    }

    pub(crate) fn from_proto(m: pb::MembershipUpdateMessage) -> Result<Self, GroupError> {
        let chat_id = GroupId::parse(&m.chat_id).map_err(|_| GroupError::ChatId)?;
        if m.events.len() > MAX_GROUP_EVENTS {
            return Err(GroupError::TooManyEvents(m.events.len()));
        }
        let events = m
            .events
            .iter()
            .map(|e| SignedGroupEvent::from_bytes(&chat_id, e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MembershipUpdate { chat_id, events })
    }

    /// The newest clock among the events (0 if none).
    pub fn max_clock(&self) -> u64 {
        self.events.iter().map(|e| e.event.clock).max().unwrap_or(0)
    }
}

/// The state of a private group chat, folded from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChat {
    id: GroupId,
    creator: IdentityPublicKey,
    created_clock: u64,
    name: String,
    color: String,
    image: Vec<u8>,
    members: BTreeSet<IdentityPublicKey>,
    joined: BTreeSet<IdentityPublicKey>,
    admins: BTreeSet<IdentityPublicKey>,
    events: BTreeMap<(u64, [u8; SIG]), SignedGroupEvent>,
    ignored: usize,
}

/// What changed when an update was applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDelta {
    /// Number of events that were new.
    pub new_events: usize,
    /// Members that are no longer members.
    pub removed: Vec<IdentityPublicKey>,
    /// Members that were not members before.
    pub added: Vec<IdentityPublicKey>,
    /// The name changed.
    pub renamed: bool,
}

impl GroupChat {
    /// Creates a group: signs `CHAT_CREATED` and, if `members` is not empty,
    /// `MEMBERS_ADDED`, and returns the group with the update to send to the members.
    pub fn create<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        creator: &IdentityKeyPair,
        name: &str,
        members: &[IdentityPublicKey],
        clock: u64,
    ) -> Result<(Self, MembershipUpdate), GroupError> {
        let id = GroupId::generate(rng, creator.public_key());
        let mut events = vec![SignedGroupEvent::sign(
            creator,
            &id,
            GroupEvent {
                clock,
                kind: GroupEventKind::Created {
                    name: name.to_owned(),
                    color: String::new(),
                },
            },
        )];
        let others: Vec<_> = members
            .iter()
            .copied()
            .filter(|m| m != creator.public_key())
            .collect();
        if !others.is_empty() {
            events.push(SignedGroupEvent::sign(
                creator,
                &id,
                GroupEvent {
                    clock: clock.saturating_add(1),
                    kind: GroupEventKind::MembersAdded(others),
                },
            ));
        }
        let update = MembershipUpdate {
            chat_id: id.clone(),
            events,
        };
        let group = Self::from_update(&update)?;
        Ok((group, update))
    }

    /// Builds a group from the first update received for it.
    pub fn from_update(update: &MembershipUpdate) -> Result<Self, GroupError> {
        let creator = update.chat_id.creator().map_err(|_| GroupError::ChatId)?;
        let mut g = GroupChat {
            id: update.chat_id.clone(),
            creator,
            created_clock: 0,
            name: String::new(),
            color: String::new(),
            image: Vec::new(),
            members: BTreeSet::new(),
            joined: BTreeSet::new(),
            admins: BTreeSet::new(),
            events: BTreeMap::new(),
            ignored: 0,
        };
        g.merge(update)?;
        Ok(g)
    }

    /// Merges the events of `update` and folds the state again. Nothing changes on error.
    pub fn merge(&mut self, update: &MembershipUpdate) -> Result<GroupDelta, GroupError> {
        if update.chat_id != self.id {
            return Err(GroupError::WrongGroup);
        }
        let mut events = self.events.clone();
        let before = events.len();
        for e in &update.events {
            events.entry(e.order_key()).or_insert_with(|| e.clone());
        }
        if events.len() > MAX_GROUP_EVENTS {
            return Err(GroupError::TooManyEvents(events.len()));
        }
        let new_events = events.len() - before;
        let mut next = self.clone();
        next.events = events;
        next.fold()?;
        let delta = GroupDelta {
            new_events,
            removed: self.members.difference(&next.members).copied().collect(),
            added: next.members.difference(&self.members).copied().collect(),
            renamed: self.name != next.name && before > 0,
        };
        *self = next;
        Ok(delta)
    }

    fn fold(&mut self) -> Result<(), GroupError> {
        self.members.clear();
        self.joined.clear();
        self.admins.clear();
        self.name.clear();
        self.color.clear();
        self.image.clear();
        self.ignored = 0;
        let mut created: Option<u64> = None;
        for e in self.events.values() {
            let a = e.author;
            let ok = match (&e.event.kind, created) {
                (GroupEventKind::Created { name, color }, None) => {
                    if a == self.creator && !name.is_empty() {
                        created = Some(e.event.clock);
                        self.name = name.clone();
                        self.color = color.clone();
                        self.members.insert(a);
                        self.joined.insert(a);
                        self.admins.insert(a);
                        true
                    } else {
                        false
                    }
                }
                (_, None) => false,
                (_, Some(c)) if e.event.clock < c => false,
                (GroupEventKind::Created { .. }, Some(_)) => false,
                (kind, Some(_)) => Self::rule(
                    &mut self.members,
                    &mut self.joined,
                    &mut self.admins,
                    &mut self.name,
                    &mut self.color,
                    &mut self.image,
                    a,
                    kind,
                ),
            };
            if !ok {
                self.ignored += 1;
            }
        }
        self.created_clock = created.ok_or(GroupError::NotCreated)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn rule(
        members: &mut BTreeSet<IdentityPublicKey>,
        joined: &mut BTreeSet<IdentityPublicKey>,
        admins: &mut BTreeSet<IdentityPublicKey>,
        name: &mut String,
        color: &mut String,
        image: &mut Vec<u8>,
        author: IdentityPublicKey,
        kind: &GroupEventKind,
    ) -> bool {
        let is_admin = admins.contains(&author);
        match kind {
            GroupEventKind::Created { .. } => false,
            GroupEventKind::NameChanged(n) => {
                if is_admin && !n.is_empty() {
                    *name = n.clone();
                    true
                } else {
                    false
                }
            }
            GroupEventKind::ColorChanged(c) => {
                if is_admin {
                    *color = c.clone();
                }
                is_admin
            }
            GroupEventKind::ImageChanged(i) => {
                if is_admin {
                    *image = i.clone();
                }
                is_admin
            }
            GroupEventKind::MembersAdded(m) => {
                let total: BTreeSet<_> = members.iter().chain(m.iter()).collect();
                if is_admin && !m.is_empty() && total.len() <= MAX_GROUP_MEMBERS {
                    members.extend(m.iter().copied());
                    true
                } else {
                    false
                }
            }
            GroupEventKind::MemberJoined => {
                if members.contains(&author) {
                    joined.insert(author);
                    true
                } else {
                    false
                }
            }
            GroupEventKind::MemberRemoved(target) => {
                let leaving = *target == author && members.contains(&author);
                let kicked = is_admin && !admins.contains(target) && members.contains(target);
                if leaving || kicked {
                    members.remove(target);
                    joined.remove(target);
                    admins.remove(target);
                    true
                } else {
                    false
                }
            }
            GroupEventKind::AdminsAdded(m) => {
                if is_admin && !m.is_empty() && m.iter().all(|k| members.contains(k)) {
                    admins.extend(m.iter().copied());
                    true
                } else {
                    false
                }
            }
            GroupEventKind::AdminRemoved(target) => {
                if is_admin && *target == author {
                    admins.remove(target);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Signs a new event by `me` with a clock after every known event, checks that the
    /// rules allow it, merges it, and returns the update to send (all events).
    pub fn act(
        &mut self,
        me: &IdentityKeyPair,
        now_ms: u64,
        kind: GroupEventKind,
    ) -> Result<MembershipUpdate, GroupError> {
        let clock = now_ms.max(self.max_clock().saturating_add(1));
        let event = SignedGroupEvent::sign(me, &self.id, GroupEvent { clock, kind });
        let mut next = self.clone();
        let before = next.ignored;
        next.merge(&MembershipUpdate {
            chat_id: self.id.clone(),
            events: vec![event],
        })?;
        if next.ignored != before {
            return Err(GroupError::NotAllowed(
                "the group's rules refuse this event",
            ));
        }
        *self = next;
        Ok(self.update())
    }

    /// An update carrying every event of the group.
    pub fn update(&self) -> MembershipUpdate {
        MembershipUpdate {
            chat_id: self.id.clone(),
            events: self.events.values().cloned().collect(),
        }
    }

    /// Newest event clock.
    pub fn max_clock(&self) -> u64 {
        self.events.keys().map(|k| k.0).max().unwrap_or(0)
    }

    /// The group id.
    pub fn id(&self) -> &GroupId {
        &self.id
    }
    /// The creator (from the id).
    pub fn creator(&self) -> &IdentityPublicKey {
        &self.creator
    }
    /// Clock of the creation event.
    pub fn created_clock(&self) -> u64 {
        self.created_clock
    }
    /// Current name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Current colour.
    pub fn color(&self) -> &str {
        &self.color
    }
    /// Current image.
    pub fn image(&self) -> &[u8] {
        &self.image
    }
    /// Members (added, joined or not).
    pub fn members(&self) -> &BTreeSet<IdentityPublicKey> {
        &self.members
    }
    /// Members that have joined.
    pub fn joined(&self) -> &BTreeSet<IdentityPublicKey> {
        &self.joined
    }
    /// Admins.
    pub fn admins(&self) -> &BTreeSet<IdentityPublicKey> {
        &self.admins
    }
    /// Number of events ignored by the rules in the last fold.
    pub fn ignored_events(&self) -> usize {
        self.ignored
    }
    /// Whether `key` is a member.
    pub fn is_member(&self, key: &IdentityPublicKey) -> bool {
        self.members.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    struct T {
        rng: ChaCha20Rng,
        a: IdentityKeyPair,
        b: IdentityKeyPair,
        c: IdentityKeyPair,
    }

    fn t() -> T {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let a = IdentityKeyPair::generate(&mut rng);
        let b = IdentityKeyPair::generate(&mut rng);
        let c = IdentityKeyPair::generate(&mut rng);
        T { rng, a, b, c }
    }

    fn wire_round_trip(u: &MembershipUpdate) -> MembershipUpdate {
        let bytes = u.to_proto().encode_to_vec();
        MembershipUpdate::from_proto(pb::MembershipUpdateMessage::decode(&bytes[..]).unwrap())
            .unwrap()
    }

    #[test]
    fn created_and_members_added() {
        let mut t = t();
        let (g, u) = GroupChat::create(
            &mut t.rng,
            &t.a,
            "friends",
            &[*t.b.public_key(), *t.c.public_key()],
            100,
        )
        .unwrap();
        let r = GroupChat::from_update(&wire_round_trip(&u)).unwrap();
        assert_eq!(r, g);
        assert_eq!(r.name(), "friends");
        assert_eq!(r.members().len(), 3);
        assert_eq!(r.joined().len(), 1);
        assert_eq!(
            r.admins().iter().collect::<Vec<_>>(),
            vec![t.a.public_key()]
        );
        assert_eq!(r.created_clock(), 100);
    }

    #[test]
    fn each_event_and_rule() {
        let mut t = t();
        let (b, c) = (*t.b.public_key(), *t.c.public_key());
        let (mut g, _) = GroupChat::create(&mut t.rng, &t.a, "g", &[b], 10).unwrap();
        // Non-admin rename is refused locally and ignored remotely.
        assert!(
            g.act(&t.b, 20, GroupEventKind::NameChanged("x".into()))
                .is_err()
        );
        let forged = SignedGroupEvent::sign(
            &t.b,
            g.id(),
            GroupEvent {
                clock: 30,
                kind: GroupEventKind::NameChanged("evil".into()),
            },
        );
        g.merge(&MembershipUpdate {
            chat_id: g.id().clone(),
            events: vec![forged],
        })
        .unwrap();
        assert_eq!(g.name(), "g");
        assert_eq!(g.ignored_events(), 1);
        // Admin renames.
        g.act(&t.a, 40, GroupEventKind::NameChanged("renamed".into()))
            .unwrap();
        assert_eq!(g.name(), "renamed");
        // Joining needs to be added first.
        assert!(g.act(&t.c, 50, GroupEventKind::MemberJoined).is_err());
        g.act(&t.b, 50, GroupEventKind::MemberJoined).unwrap();
        assert!(g.joined().contains(&b));
        // Non-admin cannot add.
        assert!(
            g.act(&t.b, 60, GroupEventKind::MembersAdded(vec![c]))
                .is_err()
        );
        g.act(&t.a, 60, GroupEventKind::MembersAdded(vec![c]))
            .unwrap();
        g.act(&t.c, 61, GroupEventKind::MemberJoined).unwrap();
        // Admins added: only members can be promoted, only by admins.
        assert!(
            g.act(&t.c, 70, GroupEventKind::AdminsAdded(vec![c]))
                .is_err()
        );
        g.act(&t.a, 70, GroupEventKind::AdminsAdded(vec![b]))
            .unwrap();
        assert!(g.admins().contains(&b));
        // Admins cannot remove other admins, nor demote them.
        assert!(
            g.act(&t.b, 80, GroupEventKind::MemberRemoved(*t.a.public_key()))
                .is_err()
        );
        assert!(
            g.act(&t.b, 80, GroupEventKind::AdminRemoved(*t.a.public_key()))
                .is_err()
        );
        // An admin removes itself as admin.
        g.act(&t.b, 81, GroupEventKind::AdminRemoved(b)).unwrap();
        assert!(!g.admins().contains(&b));
        // Colour and image by admin only.
        assert!(
            g.act(&t.b, 82, GroupEventKind::ColorChanged("#f00".into()))
                .is_err()
        );
        g.act(&t.a, 83, GroupEventKind::ColorChanged("#f00".into()))
            .unwrap();
        g.act(&t.a, 84, GroupEventKind::ImageChanged(vec![1, 2]))
            .unwrap();
        assert_eq!((g.color(), g.image()), ("#f00", &[1u8, 2][..]));
        // Admin removes a member; a member leaves.
        g.act(&t.a, 90, GroupEventKind::MemberRemoved(c)).unwrap();
        assert!(!g.is_member(&c));
        g.act(&t.b, 91, GroupEventKind::MemberRemoved(b)).unwrap();
        assert!(!g.is_member(&b));
        // A removed member can no longer act.
        assert!(g.act(&t.b, 92, GroupEventKind::MemberJoined).is_err());
        // And the whole history folds identically on another member.
        let u = wire_round_trip(&g.update());
        let mut again = GroupChat::from_update(&u).unwrap();
        assert_eq!(again, g);
        // Any arrival order gives the same state.
        let mut rev = u.clone();
        rev.events.reverse();
        again.merge(&rev).unwrap();
        assert_eq!(again, g);
    }

    #[test]
    fn events_before_creation_are_discarded_and_creation_is_the_creators() {
        let mut t = t();
        let b = *t.b.public_key();
        let (mut g, _) = GroupChat::create(&mut t.rng, &t.a, "g", &[b], 1000).unwrap();
        let old = SignedGroupEvent::sign(
            &t.a,
            g.id(),
            GroupEvent {
                clock: 999,
                kind: GroupEventKind::NameChanged("old".into()),
            },
        );
        g.merge(&MembershipUpdate {
            chat_id: g.id().clone(),
            events: vec![old],
        })
        .unwrap();
        assert_eq!(g.name(), "g");
        // Someone else's CHAT_CREATED for this id does not count.
        let fake = SignedGroupEvent::sign(
            &t.b,
            g.id(),
            GroupEvent {
                clock: 1,
                kind: GroupEventKind::Created {
                    name: "mine".into(),
                    color: String::new(),
                },
            },
        );
        let u = MembershipUpdate {
            chat_id: g.id().clone(),
            events: vec![fake],
        };
        assert_eq!(GroupChat::from_update(&u), Err(GroupError::NotCreated));
    }

    #[test]
    fn events_signed_for_another_group_or_tampered_fail() {
        let mut t = t();
        let (g, u) = GroupChat::create(&mut t.rng, &t.a, "g", &[], 1).unwrap();
        let (g2, _) = GroupChat::create(&mut t.rng, &t.a, "h", &[], 1).unwrap();
        let mut p = u.to_proto();
        p.chat_id = g2.id().as_str().to_owned();
        assert_eq!(
            MembershipUpdate::from_proto(p),
            Err(GroupError::EventSignature)
        );
        let mut p = u.to_proto();
        let last = p.events[0].len() - 1;
        p.events[0][last] ^= 1;
        assert!(MembershipUpdate::from_proto(p).is_err());
        let mut p = u.to_proto();
        p.events[0].truncate(10);
        assert_eq!(
            MembershipUpdate::from_proto(p),
            Err(GroupError::EventTooShort)
        );
        assert_eq!(g.update().events.len(), 1);
    }
}
