//! The supported handshake patterns.

/// Which side of a handshake this party plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the first message (`->`).
    Initiator,
    /// Receives the first message (`<-`).
    Responder,
}

impl Role {
    /// The other role.
    pub fn peer(self) -> Self {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

/// A Noise token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    E,
    S,
    Ee,
    Es,
    Se,
    Ss,
    Psk,
}

/// One message of a pattern: who sends it and its tokens.
pub(crate) struct MessagePattern {
    pub(crate) sender: Role,
    pub(crate) tokens: &'static [Token],
}

/// A handshake pattern supported by `@waku/noise` (35 plus 43's `WakuPairing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `K1K1`: both static keys known in advance.
    K1K1,
    /// `XK1`: the responder's static key known in advance.
    XK1,
    /// `XX`: static keys exchanged.
    XX,
    /// `XXpsk0`: `XX` with a pre-shared key mixed in first.
    XXpsk0,
    /// `WakuPairing` (43): the responder's ephemeral key known in advance (from a QR code).
    WakuPairing,
}

use Role::{Initiator as I, Responder as R};
use Token::*;

impl Pattern {
    /// Every supported pattern.
    pub const ALL: [Pattern; 5] = [
        Pattern::K1K1,
        Pattern::XK1,
        Pattern::XX,
        Pattern::XXpsk0,
        Pattern::WakuPairing,
    ];

    /// The full Noise protocol name, e.g. `Noise_XX_25519_ChaChaPoly_SHA256`.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Pattern::K1K1 => "Noise_K1K1_25519_ChaChaPoly_SHA256",
            Pattern::XK1 => "Noise_XK1_25519_ChaChaPoly_SHA256",
            Pattern::XX => "Noise_XX_25519_ChaChaPoly_SHA256",
            Pattern::XXpsk0 => "Noise_XXpsk0_25519_ChaChaPoly_SHA256",
            Pattern::WakuPairing => "Noise_WakuPairing_25519_ChaChaPoly_SHA256",
        }
    }

    /// The short name (`XX`, `WakuPairing`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Pattern::K1K1 => "K1K1",
            Pattern::XK1 => "XK1",
            Pattern::XX => "XX",
            Pattern::XXpsk0 => "XXpsk0",
            Pattern::WakuPairing => "WakuPairing",
        }
    }

    /// Parses a short name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The PayloadV2 protocol id of this pattern's handshake messages.
    pub fn protocol_id(self) -> u8 {
        match self {
            Pattern::K1K1 => 10,
            Pattern::XK1 => 11,
            Pattern::XX => 12,
            Pattern::XXpsk0 => 13,
            Pattern::WakuPairing => 14,
        }
    }

    /// The pattern a protocol id names.
    pub fn from_protocol_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.protocol_id() == id)
    }

    /// Whether the pattern has a `psk` token.
    pub fn has_psk(self) -> bool {
        matches!(self, Pattern::XXpsk0)
    }

    /// Pre-message keys in order: whose key, which token.
    pub(crate) fn pre_messages(self) -> &'static [(Role, Token)] {
        match self {
            Pattern::K1K1 => &[(I, S), (R, S)],
            Pattern::XK1 => &[(R, S)],
            Pattern::XX | Pattern::XXpsk0 => &[],
            Pattern::WakuPairing => &[(R, E)],
        }
    }

    /// The message patterns.
    pub(crate) fn messages(self) -> &'static [MessagePattern] {
        macro_rules! m {
            ($sender:expr, $tokens:expr) => {
                MessagePattern {
                    sender: $sender,
                    tokens: $tokens,
                }
            };
        }
        match self {
            Pattern::K1K1 => &[m!(I, &[E]), m!(R, &[E, Ee, Es]), m!(I, &[Se])],
            Pattern::XK1 => &[m!(I, &[E]), m!(R, &[E, Ee, Es]), m!(I, &[S, Se])],
            Pattern::XX => &[m!(I, &[E]), m!(R, &[E, Ee, S, Es]), m!(I, &[S, Se])],
            Pattern::XXpsk0 => &[m!(I, &[Psk, E]), m!(R, &[E, Ee, S, Es]), m!(I, &[S, Se])],
            Pattern::WakuPairing => &[m!(I, &[E, Ee]), m!(R, &[S, Es]), m!(I, &[S, Se, Ss])],
        }
    }

    /// Number of handshake messages.
    pub fn message_count(self) -> usize {
        self.messages().len()
    }

    /// Whether `role` needs its own static key for this pattern.
    pub fn needs_local_static(self, role: Role) -> bool {
        self.pre_messages()
            .iter()
            .any(|(r, t)| *r == role && *t == S)
            || self
                .messages()
                .iter()
                .any(|m| m.sender == role && m.tokens.contains(&S))
            || self.messages().iter().any(|m| {
                m.tokens.iter().any(|t| {
                    matches!(
                        (t, role),
                        (Ss, _) | (Es, Role::Responder) | (Se, Role::Initiator)
                    )
                })
            })
    }

    /// Whether `role` must know the peer's static key before the handshake.
    pub fn needs_remote_static(self, role: Role) -> bool {
        self.pre_messages()
            .iter()
            .any(|(r, t)| *r == role.peer() && *t == S)
    }

    /// Whether `role` must know the peer's ephemeral key before the handshake.
    pub fn needs_remote_ephemeral(self, role: Role) -> bool {
        self.pre_messages()
            .iter()
            .any(|(r, t)| *r == role.peer() && *t == E)
    }

    /// Whether `role` must hold its ephemeral key before the handshake (a pre-message `e`).
    pub fn needs_local_ephemeral(self, role: Role) -> bool {
        self.pre_messages()
            .iter()
            .any(|(r, t)| *r == role && *t == E)
    }
}
