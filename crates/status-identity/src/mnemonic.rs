//! BIP39 mnemonic phrases (English word list): what a user writes down to get their
//! identity back.
//!
//! New accounts get 12 or 24 words. Recovery accepts every length BIP39 defines
//! (12, 15, 18, 21 or 24 words), so a phrase made elsewhere still restores. Input is
//! lower-cased and its whitespace collapsed before the words are looked up.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// Length of a BIP39 seed.
pub const SEED_LENGTH: usize = 64;

/// Longest phrase accepted by [`Mnemonic::parse`], in bytes: 24 words of at most 8
/// letters with separators, with room for generous whitespace.
pub const MAX_PHRASE_BYTES: usize = 1024;

/// How many words a new mnemonic has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WordCount {
    /// 12 words: 128 bits of entropy.
    #[default]
    Twelve,
    /// 24 words: 256 bits of entropy.
    TwentyFour,
}

impl WordCount {
    /// The number of words.
    pub const fn words(self) -> usize {
        match self {
            WordCount::Twelve => 12,
            WordCount::TwentyFour => 24,
        }
    }

    /// The number of entropy bytes behind that many words.
    pub const fn entropy_bytes(self) -> usize {
        match self {
            WordCount::Twelve => 16,
            WordCount::TwentyFour => 32,
        }
    }
}

/// Why a phrase or entropy is not a valid mnemonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MnemonicError {
    /// The phrase has a word count BIP39 does not define (12, 15, 18, 21 or 24).
    #[error("a mnemonic has 12, 15, 18, 21 or 24 words, got {0}")]
    WordCount(usize),
    /// A word (0-based position) is not in the English BIP39 list.
    #[error("word {0} is not in the English BIP39 word list")]
    UnknownWord(usize),
    /// The words are known but their checksum does not match (a typo or a swap).
    #[error("the mnemonic checksum does not match")]
    Checksum,
    /// Entropy must be 16, 20, 24, 28 or 32 bytes.
    #[error("mnemonic entropy must be 16 to 32 bytes in steps of 4, got {0}")]
    EntropyLength(usize),
    /// The phrase is longer than [`MAX_PHRASE_BYTES`].
    #[error("mnemonic phrase is {0} bytes long, more than {MAX_PHRASE_BYTES}")]
    TooLong(usize),
}

impl From<bip39::Error> for MnemonicError {
    fn from(error: bip39::Error) -> Self {
        match error {
            bip39::Error::BadWordCount(n) => MnemonicError::WordCount(n),
            bip39::Error::UnknownWord(i) => MnemonicError::UnknownWord(i),
            bip39::Error::BadEntropyBitCount(bits) => MnemonicError::EntropyLength(bits / 8),
            // Only English is enabled, so no phrase is ambiguous; map anything else to the
            // checksum error rather than panic.
            _ => MnemonicError::Checksum,
        }
    }
}

/// A BIP39 mnemonic in English. Zeroized on drop; `Debug` prints only the word count;
/// equality is constant time.
#[derive(Clone)]
pub struct Mnemonic(bip39::Mnemonic);

impl PartialEq for Mnemonic {
    fn eq(&self, other: &Self) -> bool {
        let a = self.to_entropy();
        let b = other.to_entropy();
        // Lengths (word counts) are not secret.
        a.len() == b.len() && bool::from(subtle::ConstantTimeEq::ct_eq(&a[..], &b[..]))
    }
}

impl Eq for Mnemonic {}

impl Mnemonic {
    /// Generates a new mnemonic from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, words: WordCount) -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        let entropy = &mut entropy[..words.entropy_bytes()];
        rng.fill_bytes(entropy);
        // 16 or 32 bytes are always valid BIP39 entropy lengths.
        match bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy) {
            Ok(mnemonic) => Mnemonic(mnemonic),
            Err(_) => unreachable_entropy(),
        }
    }

    /// Builds the mnemonic for given entropy (16, 20, 24, 28 or 32 bytes).
    pub fn from_entropy(entropy: &[u8]) -> Result<Self, MnemonicError> {
        Ok(Mnemonic(bip39::Mnemonic::from_entropy_in(
            bip39::Language::English,
            entropy,
        )?))
    }

    /// Parses a phrase: words from the English list separated by whitespace, any case.
    pub fn parse(phrase: &str) -> Result<Self, MnemonicError> {
        if phrase.len() > MAX_PHRASE_BYTES {
            return Err(MnemonicError::TooLong(phrase.len()));
        }
        let mut normalized = Zeroizing::new(String::with_capacity(phrase.len()));
        for (i, word) in phrase.split_whitespace().enumerate() {
            if i > 0 {
                normalized.push(' ');
            }
            for c in word.chars() {
                normalized.extend(c.to_lowercase());
            }
        }
        Ok(Mnemonic(bip39::Mnemonic::parse_in(
            bip39::Language::English,
            normalized.as_str(),
        )?))
    }

    /// The number of words.
    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The phrase, words separated by single spaces. Keep it secret; it is zeroized when the
    /// returned value is dropped.
    pub fn phrase(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for (i, word) in self.0.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// The entropy behind the words. Zeroized when dropped.
    pub fn to_entropy(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_entropy())
    }

    /// The BIP39 seed: PBKDF2-HMAC-SHA512 of the phrase with salt `"mnemonic" || passphrase`,
    /// 2048 rounds. Status uses the empty passphrase. Zeroized when dropped.
    pub fn to_seed(&self, passphrase: &str) -> Zeroizing<[u8; SEED_LENGTH]> {
        Zeroizing::new(self.0.to_seed(passphrase))
    }
}

#[cold]
fn unreachable_entropy() -> ! {
    // `WordCount` only yields 16 or 32 bytes, both valid; this cannot be reached from input.
    #[allow(clippy::panic)]
    {
        panic!("BIP39 rejected 16 or 32 bytes of entropy")
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mnemonic")
            .field("words", &self.word_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn generate_parse_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for count in [WordCount::Twelve, WordCount::TwentyFour] {
            let m = Mnemonic::generate(&mut rng, count);
            assert_eq!(m.word_count(), count.words());
            let again = Mnemonic::parse(&m.phrase()).unwrap();
            assert_eq!(again, m);
            let shouty = m.phrase().to_uppercase().replace(' ', "  \n ");
            assert_eq!(Mnemonic::parse(&shouty).unwrap(), m);
        }
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            Mnemonic::parse("abandon abandon"),
            Err(MnemonicError::WordCount(2))
        );
        let bad_word = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abouts";
        assert_eq!(
            Mnemonic::parse(bad_word),
            Err(MnemonicError::UnknownWord(11))
        );
        let bad_sum = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
        assert_eq!(Mnemonic::parse(bad_sum), Err(MnemonicError::Checksum));
        assert_eq!(
            Mnemonic::from_entropy(&[0u8; 15]),
            Err(MnemonicError::EntropyLength(15))
        );
        let long = "a ".repeat(MAX_PHRASE_BYTES);
        assert_eq!(
            Mnemonic::parse(&long),
            Err(MnemonicError::TooLong(long.len()))
        );
    }

    #[test]
    fn debug_hides_words() {
        let m = Mnemonic::generate(&mut ChaCha20Rng::seed_from_u64(2), WordCount::Twelve);
        let debug = format!("{m:?}");
        let phrase = m.phrase();
        let first = phrase.split(' ').next().unwrap();
        assert!(!debug.contains(first), "{debug}");
    }
}
