//! What two people compare to verify each other: a safety number, an emoji hash and a
//! three-word alias. (The identicon is in [`crate::identicon`].)
//!
//! # Safety number
//!
//! As Signal's numeric fingerprint, with this project's inputs. For one identity:
//!
//! ```text
//! buf = u16 BE SAFETY_NUMBER_VERSION (= 1) || Ed25519 public key (32) || stable id
//! repeat SAFETY_NUMBER_ITERATIONS (= 5200) times: buf = SHA-512(buf || Ed25519 public key)
//! digits = for i in 0..6: (u40 BE of buf[5i..5i+5]) mod 100000, as 5 decimal digits
//! ```
//!
//! The stable id is the UTF-8 chat key (`z6Mk…`) of the identity. Each side gives 30
//! digits; the safety number is the two 30-digit strings sorted (as strings) and
//! concatenated: 60 digits, shown as 12 groups of 5. Both people see the same number.
//!
//! # Emoji hash
//!
//! `SHA-512("STATUS-RS/1/emoji-hash|" || key)[0..14]`, each byte an index into a list of
//! 256 emojis (animals, plants, food, vehicles, things), 14 emojis, 112 bits.
//!
//! # Alias
//!
//! `h = SHA-512("STATUS-RS/1/alias|" || key)`: adjective `h[0]`, adjective `h[1]`, animal
//! `h[2]`, from lists of 256 plain English words each, capitalized:
//! "Brave Quiet Otter". 24 bits: a friendly name, not a security check.

use core::fmt;

use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;

use crate::keys::IdentityPublicKey;

/// Version number hashed into every safety number.
pub const SAFETY_NUMBER_VERSION: u16 = 1;
/// SHA-512 iterations per side (as Signal).
pub const SAFETY_NUMBER_ITERATIONS: u32 = 5200;
/// Digits in a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;
/// Emojis in an emoji hash.
pub const EMOJI_HASH_LENGTH: usize = 14;

const EMOJI_LABEL: &[u8] = b"STATUS-RS/1/emoji-hash|";
const ALIAS_LABEL: &[u8] = b"STATUS-RS/1/alias|";

macro_rules! word_list {
    ($file:literal) => {{
        const TEXT: &str = include_str!($file);
        const N: usize = 256;
        const LIST: [&str; N] = {
            let bytes = TEXT.as_bytes();
            let mut out = [""; N];
            let mut start = 0;
            let mut i = 0;
            let mut n = 0;
            while i < bytes.len() {
                if bytes[i] == b'\n' {
                    let (_, tail) = bytes.split_at(start);
                    let (word, _) = tail.split_at(i - start);
                    out[n] = match core::str::from_utf8(word) {
                        Ok(word) => word,
                        Err(_) => "",
                    };
                    n += 1;
                    start = i + 1;
                }
                i += 1;
            }
            assert!(n == N, "word list must have 256 lines");
            out
        };
        LIST
    }};
}

/// The 256 emojis of the emoji hash, in index order.
pub const EMOJIS: [&str; 256] = word_list!("words/emoji.txt");
/// The 256 adjectives of the alias, in index order.
pub const ADJECTIVES: [&str; 256] = word_list!("words/adjectives.txt");
/// The 256 animals of the alias, in index order.
pub const ANIMALS: [&str; 256] = word_list!("words/animals.txt");

fn labelled_hash(label: &[u8], key: &IdentityPublicKey) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(label);
    h.update(key.as_bytes());
    h.finalize().into()
}

/// The 30 digits of one identity (see the module docs).
pub fn fingerprint_digits(key: &IdentityPublicKey) -> [u8; 30] {
    let chat_key = key.to_chat_key();
    let mut buf: [u8; 64] = {
        let mut h = Sha512::new();
        h.update(SAFETY_NUMBER_VERSION.to_be_bytes());
        h.update(key.as_bytes());
        h.update(chat_key.as_bytes());
        h.update(key.as_bytes());
        h.finalize().into()
    };
    for _ in 1..SAFETY_NUMBER_ITERATIONS {
        let mut h = Sha512::new();
        h.update(buf);
        h.update(key.as_bytes());
        buf = h.finalize().into();
    }
    let mut digits = [b'0'; 30];
    for (chunk, out) in buf.chunks_exact(5).zip(digits.chunks_exact_mut(5)) {
        let mut value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) % 100_000;
        for d in out.iter_mut().rev() {
            // value % 10 < 10, so the cast cannot truncate.
            *d = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    digits
}

/// A safety number: 60 digits, the same for both people of a conversation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SafetyNumber([u8; SAFETY_NUMBER_DIGITS]);

impl SafetyNumber {
    /// The safety number of two identities; symmetric in its arguments.
    pub fn new(a: &IdentityPublicKey, b: &IdentityPublicKey) -> Self {
        let a = fingerprint_digits(a);
        let b = fingerprint_digits(b);
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        let mut digits = [0u8; SAFETY_NUMBER_DIGITS];
        digits[..30].copy_from_slice(&first);
        digits[30..].copy_from_slice(&second);
        SafetyNumber(digits)
    }

    /// The 60 digits without separators.
    pub fn digits(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 12 groups of 5 digits.
    pub fn groups(&self) -> impl Iterator<Item = &str> + '_ {
        self.0
            .chunks_exact(5)
            .map(|g| core::str::from_utf8(g).unwrap_or_default())
    }

    /// Whether `text` (as read out or typed by the other person; whitespace ignored) is
    /// this safety number. Constant time in the digits.
    pub fn matches(&self, text: &str) -> bool {
        let mut typed = [0u8; SAFETY_NUMBER_DIGITS];
        let mut n = 0usize;
        for b in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
            if n == SAFETY_NUMBER_DIGITS {
                return false;
            }
            typed[n] = b;
            n += 1;
        }
        n == SAFETY_NUMBER_DIGITS && bool::from(typed.ct_eq(&self.0))
    }
}

impl fmt::Display for SafetyNumber {
    /// Twelve groups of five digits separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.groups().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(group)?;
        }
        Ok(())
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

/// The emoji hash of an identity: 14 emojis.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EmojiHash([u8; EMOJI_HASH_LENGTH]);

impl EmojiHash {
    /// The emoji hash of `key`.
    pub fn new(key: &IdentityPublicKey) -> Self {
        let h = labelled_hash(EMOJI_LABEL, key);
        let mut out = [0u8; EMOJI_HASH_LENGTH];
        out.copy_from_slice(&h[..EMOJI_HASH_LENGTH]);
        EmojiHash(out)
    }

    /// The indices into [`EMOJIS`].
    pub fn indices(&self) -> &[u8; EMOJI_HASH_LENGTH] {
        &self.0
    }

    /// The emojis.
    pub fn emojis(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|&i| EMOJIS[usize::from(i)])
    }
}

impl fmt::Display for EmojiHash {
    /// The 14 emojis without separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.emojis().try_for_each(|e| f.write_str(e))
    }
}

/// The three-word alias of an identity: adjective, adjective, animal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Alias([u8; 3]);

impl Alias {
    /// The alias of `key`.
    pub fn new(key: &IdentityPublicKey) -> Self {
        let h = labelled_hash(ALIAS_LABEL, key);
        Alias([h[0], h[1], h[2]])
    }

    /// The three words in lower case: adjective, adjective, animal.
    pub fn words(&self) -> [&'static str; 3] {
        [
            ADJECTIVES[usize::from(self.0[0])],
            ADJECTIVES[usize::from(self.0[1])],
            ANIMALS[usize::from(self.0[2])],
        ]
    }
}

impl fmt::Display for Alias {
    /// Capitalized words separated by spaces: "Brave Quiet Otter".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, word) in self.words().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                for c in first.to_uppercase() {
                    fmt::Write::write_char(f, c)?;
                }
                f.write_str(chars.as_str())?;
            }
        }
        Ok(())
    }
}

impl IdentityPublicKey {
    /// The safety number of this identity and `other` (symmetric).
    pub fn safety_number(&self, other: &IdentityPublicKey) -> SafetyNumber {
        SafetyNumber::new(self, other)
    }

    /// The emoji hash of this identity.
    pub fn emoji_hash(&self) -> EmojiHash {
        EmojiHash::new(self)
    }

    /// The three-word alias of this identity.
    pub fn alias(&self) -> Alias {
        Alias::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityKeyPair;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use std::collections::HashSet;

    #[test]
    fn word_lists_are_distinct_and_plain() {
        for list in [&ADJECTIVES, &ANIMALS] {
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), 256);
            assert!(
                list.iter()
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
            );
        }
        let set: HashSet<_> = EMOJIS.iter().collect();
        assert_eq!(set.len(), 256);
        assert!(EMOJIS.iter().all(|e| e.chars().count() == 1));
    }

    #[test]
    fn safety_number_shape_and_symmetry() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let a = IdentityKeyPair::generate(&mut rng);
        let b = IdentityKeyPair::generate(&mut rng);
        let ab = a.public_key().safety_number(b.public_key());
        let ba = b.public_key().safety_number(a.public_key());
        assert_eq!(ab, ba);
        assert_eq!(ab.digits().len(), 60);
        assert!(ab.digits().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(ab.groups().count(), 12);
        let shown = ab.to_string();
        assert_eq!(shown.len(), 60 + 11);
        assert!(ab.matches(&shown));
        assert!(ab.matches(ab.digits()));
        let mut wrong = ab.digits().to_string();
        wrong.replace_range(59.., if wrong.ends_with('0') { "1" } else { "0" });
        assert!(!ab.matches(&wrong));
        assert!(!ab.matches(&shown[..shown.len() - 1]));
        assert!(!ab.matches(&format!("{shown}1")));
        let c = IdentityKeyPair::generate(&mut rng);
        assert_ne!(ab, a.public_key().safety_number(c.public_key()));
    }

    #[test]
    fn alias_and_emoji_shapes() {
        let key = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(11));
        let alias = key.public_key().alias().to_string();
        assert_eq!(alias.split(' ').count(), 3);
        assert!(
            alias
                .split(' ')
                .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        );
        assert_eq!(
            key.public_key().emoji_hash().emojis().count(),
            EMOJI_HASH_LENGTH
        );
    }
}
