//! Contacts and contact requests (55, 62 content type 11, types 46 and 47).
//!
//! Each side of a relationship is tracked separately: whether *we* added them (sent a
//! request or accepted theirs), and whether *they* added us. Two people chat once both
//! sides have added each other (mutual contacts) and neither is blocked. Declining is a
//! local decision (as in status-go, where only the user's own devices learn of it): the
//! requester is not told, its messages stay hidden, and it cannot make us a contact.
//! Each request, accept and retract carries a Lamport clock; older ones than the last
//! seen from that peer are ignored, so replays and reordering cannot undo a newer state.

use status_identity::IdentityPublicKey;

use crate::ids::MessageId;

/// Most messages held from a peer we asked to be our contact, received before its
/// acceptance (reordering); they are shown once it accepts, dropped otherwise.
pub const MAX_HELD_PER_CONTACT: usize = 64;
/// Longest intro text of a contact request, in bytes.
pub const MAX_INTRO_BYTES: usize = 280;

/// Our side of the relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OurSide {
    /// We have not added them.
    #[default]
    None,
    /// We sent a request or accepted theirs.
    Added,
    /// We declined their request.
    Declined,
}

/// Their side of the relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TheirSide {
    /// They have not added us (or retracted).
    #[default]
    None,
    /// They sent a request or accepted ours.
    Added,
}

/// The relationship as a user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactState {
    /// Nothing either way.
    Stranger,
    /// We asked; they have not answered.
    RequestSent,
    /// They asked; we have not answered.
    RequestReceived,
    /// Both added: we can chat.
    Mutual,
    /// We declined their request.
    Declined,
    /// We blocked them.
    Blocked,
}

/// Why a contact command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    /// The contact is blocked.
    #[error("contact is blocked")]
    Blocked,
    /// There is no pending request from them to accept or decline.
    #[error("no pending contact request from this peer")]
    NoPendingRequest,
    /// We have not added them, so there is nothing to retract.
    #[error("nothing to retract")]
    NothingToRetract,
    /// The intro text is too long.
    #[error("intro text too long")]
    IntroTooLong,
    /// That is our own key.
    #[error("cannot add yourself")]
    Yourself,
}

/// Something that changed, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    /// They sent us a request.
    RequestReceived {
        /// The request's message id.
        id: MessageId,
        /// Its intro text.
        intro: String,
    },
    /// We are now mutual contacts.
    BecameMutual,
    /// They retracted (removed us); no longer mutual.
    Retracted,
}

/// One contact and the state of our relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Their identity.
    pub key: IdentityPublicKey,
    /// Their prekey bundle (from a contact code), opaque to this layer.
    pub bundle: Option<Vec<u8>>,
    /// Our side.
    pub ours: OurSide,
    /// Their side.
    pub theirs: TheirSide,
    /// Whether we blocked them.
    pub blocked: bool,
    /// Clock of our latest request, accept or retract.
    pub our_clock: u64,
    /// Clock of their latest request, accept or retract.
    pub their_clock: u64,
    /// Id of their latest contact request.
    pub their_request: Option<MessageId>,
    /// Intro text of their latest contact request.
    pub intro: String,
    /// Encoded wrappers received before they accepted our request (at most
    /// [`MAX_HELD_PER_CONTACT`]).
    pub held: Vec<Vec<u8>>,
}

impl Contact {
    /// A contact we know nothing about yet.
    pub fn new(key: IdentityPublicKey) -> Self {
        Contact {
            key,
            bundle: None,
            ours: OurSide::None,
            theirs: TheirSide::None,
            blocked: false,
            our_clock: 0,
            their_clock: 0,
            their_request: None,
            intro: String::new(),
            held: Vec::new(),
        }
    }

    /// Whether we may chat.
    pub fn is_mutual(&self) -> bool {
        !self.blocked && self.ours == OurSide::Added && self.theirs == TheirSide::Added
    }

    /// The relationship as a user sees it.
    pub fn state(&self) -> ContactState {
        match (self.blocked, self.ours, self.theirs) {
            (true, _, _) => ContactState::Blocked,
            (_, OurSide::Declined, _) => ContactState::Declined,
            (_, OurSide::Added, TheirSide::Added) => ContactState::Mutual,
            (_, OurSide::Added, TheirSide::None) => ContactState::RequestSent,
            (_, OurSide::None, TheirSide::Added) => ContactState::RequestReceived,
            (_, OurSide::None, TheirSide::None) => ContactState::Stranger,
        }
    }

    /// We send a request (or, if they asked first, this accepts theirs).
    pub fn request(&mut self, clock: u64, intro: &str) -> Result<(), ContactError> {
        if self.blocked {
            return Err(ContactError::Blocked);
        }
        if intro.len() > MAX_INTRO_BYTES {
            return Err(ContactError::IntroTooLong);
        }
        self.ours = OurSide::Added;
        self.our_clock = clock;
        Ok(())
    }

    /// We accept their pending request.
    pub fn accept(&mut self, clock: u64) -> Result<(), ContactError> {
        if self.blocked {
            return Err(ContactError::Blocked);
        }
        if self.theirs != TheirSide::Added || self.ours == OurSide::Added {
            return Err(ContactError::NoPendingRequest);
        }
        self.ours = OurSide::Added;
        self.our_clock = clock;
        Ok(())
    }

    /// We decline their pending request (local only).
    pub fn decline(&mut self) -> Result<(), ContactError> {
        if self.theirs != TheirSide::Added || self.ours == OurSide::Added {
            return Err(ContactError::NoPendingRequest);
        }
        self.ours = OurSide::Declined;
        self.held.clear();
        Ok(())
    }

    /// We retract our request or remove a mutual contact.
    pub fn retract(&mut self, clock: u64) -> Result<(), ContactError> {
        if self.ours != OurSide::Added {
            return Err(ContactError::NothingToRetract);
        }
        self.ours = OurSide::None;
        self.our_clock = clock;
        self.held.clear();
        Ok(())
    }

    /// We block them: nothing from them is processed until unblocked.
    pub fn block(&mut self) {
        self.blocked = true;
        self.held.clear();
    }

    /// We unblock them.
    pub fn unblock(&mut self) {
        self.blocked = false;
    }

    /// They sent a request.
    pub fn on_request(&mut self, clock: u64, id: MessageId, intro: &str) -> Option<ContactChange> {
        if self.blocked || clock < self.their_clock || self.ours == OurSide::Declined {
            return None;
        }
        let was_mutual = self.is_mutual();
        let was_added = self.theirs == TheirSide::Added;
        self.theirs = TheirSide::Added;
        self.their_clock = clock;
        self.their_request = Some(id);
        self.intro = intro.to_owned();
        if self.is_mutual() && !was_mutual {
            Some(ContactChange::BecameMutual)
        } else if !was_added && self.ours == OurSide::None {
            Some(ContactChange::RequestReceived {
                id,
                intro: intro.to_owned(),
            })
        } else {
            None
        }
    }

    /// They accepted our request.
    pub fn on_accept(&mut self, clock: u64) -> Option<ContactChange> {
        if self.blocked || clock < self.their_clock || self.ours == OurSide::Declined {
            return None;
        }
        let was_mutual = self.is_mutual();
        self.theirs = TheirSide::Added;
        self.their_clock = clock;
        (self.is_mutual() && !was_mutual).then_some(ContactChange::BecameMutual)
    }

    /// They retracted.
    pub fn on_retract(&mut self, clock: u64) -> Option<ContactChange> {
        if self.blocked || clock < self.their_clock {
            return None;
        }
        let was = self.theirs == TheirSide::Added;
        self.theirs = TheirSide::None;
        self.their_clock = clock;
        self.held.clear();
        was.then_some(ContactChange::Retracted)
    }

    /// Holds a message received before they accepted. False if over the cap or not in
    /// the state where holding makes sense.
    pub fn hold(&mut self, wire: Vec<u8>) -> bool {
        if self.state() != ContactState::RequestSent
            || self.held.len() >= MAX_HELD_PER_CONTACT
            || self.held.contains(&wire)
        {
            return false;
        }
        self.held.push(wire);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use status_identity::IdentityKeyPair;

    fn c() -> Contact {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        Contact::new(*IdentityKeyPair::generate(&mut rng).public_key())
    }

    #[test]
    fn request_then_accept_is_mutual() {
        let mut a = c();
        a.request(1, "hi").unwrap();
        assert_eq!(a.state(), ContactState::RequestSent);
        assert_eq!(a.on_accept(2), Some(ContactChange::BecameMutual));
        assert!(a.is_mutual());
        assert_eq!(a.on_accept(2), None);
    }

    #[test]
    fn received_then_accept_or_decline() {
        let mut b = c();
        let id = MessageId([1; 32]);
        assert_eq!(
            b.on_request(1, id, "hi"),
            Some(ContactChange::RequestReceived {
                id,
                intro: "hi".into()
            })
        );
        assert_eq!(b.state(), ContactState::RequestReceived);
        let mut d = b.clone();
        b.accept(2).unwrap();
        assert!(b.is_mutual());
        d.decline().unwrap();
        assert_eq!(d.state(), ContactState::Declined);
        // A new request after declining stays declined; accepting it is still possible.
        assert_eq!(d.on_request(5, id, "again"), None);
        assert_eq!(d.state(), ContactState::Declined);
        assert_eq!(d.accept(6), Ok(()));
    }

    #[test]
    fn both_request_is_mutual_and_retract_undoes() {
        let mut a = c();
        a.request(1, "").unwrap();
        assert_eq!(
            a.on_request(2, MessageId([0; 32]), ""),
            Some(ContactChange::BecameMutual)
        );
        assert_eq!(a.on_retract(3), Some(ContactChange::Retracted));
        assert!(!a.is_mutual());
        // An older accept replayed after the retract does nothing.
        assert_eq!(a.on_accept(2), None);
        assert!(!a.is_mutual());
        a.retract(4).unwrap();
        assert_eq!(a.retract(5), Err(ContactError::NothingToRetract));
    }

    #[test]
    fn blocked_ignores_everything_and_holding_is_capped() {
        let mut a = c();
        a.request(1, "").unwrap();
        for i in 0..(MAX_HELD_PER_CONTACT + 5) {
            a.hold(vec![i as u8, (i >> 8) as u8]);
        }
        assert_eq!(a.held.len(), MAX_HELD_PER_CONTACT);
        a.block();
        assert!(a.held.is_empty());
        assert_eq!(a.on_accept(9), None);
        assert_eq!(a.state(), ContactState::Blocked);
        assert_eq!(a.request(10, ""), Err(ContactError::Blocked));
        assert_eq!(a.request(10, &"x".repeat(300)), Err(ContactError::Blocked));
        a.unblock();
        assert_eq!(
            a.request(10, &"x".repeat(300)),
            Err(ContactError::IntroTooLong)
        );
    }
}
