//! Accounts: creating an identity with a mnemonic the user writes down, and recovering it.
//!
//! `identity = SLIP-0010-Ed25519(BIP39-seed(mnemonic, passphrase), m/43'/60'/1581'/0'/0')`
//! (DESIGN.md rule 8). The same words always give back the same identity.

use core::fmt;

use rand_core::CryptoRng;

use crate::keys::IdentityKeyPair;
use crate::mnemonic::{Mnemonic, MnemonicError, WordCount};
use crate::slip10::{DerivationPath, ExtendedSecretKey, Slip10Error};

/// Why an account could not be recovered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// The phrase is not a valid English BIP39 mnemonic.
    #[error(transparent)]
    Mnemonic(#[from] MnemonicError),
    /// Derivation failed (cannot happen for a BIP39 seed; kept typed rather than panic).
    #[error(transparent)]
    Derivation(#[from] Slip10Error),
}

/// An account: its mnemonic and the identity derived from it.
pub struct Account {
    mnemonic: Mnemonic,
    identity: IdentityKeyPair,
}

impl Account {
    /// Creates an account with a new mnemonic of `words` words and the empty BIP39
    /// passphrase (as Status does).
    pub fn create<R: CryptoRng + ?Sized>(rng: &mut R, words: WordCount) -> Self {
        let mnemonic = Mnemonic::generate(rng, words);
        match Self::from_mnemonic(mnemonic, "") {
            Ok(account) => account,
            // A BIP39 seed is 64 bytes and the identity path is hardened: cannot fail.
            Err(_) => unreachable_derivation(),
        }
    }

    /// Recovers an account from its phrase and BIP39 passphrase (empty for Status).
    pub fn recover(phrase: &str, passphrase: &str) -> Result<Self, RecoveryError> {
        Self::from_mnemonic(Mnemonic::parse(phrase)?, passphrase)
    }

    /// Derives the identity of a mnemonic with a BIP39 passphrase.
    pub fn from_mnemonic(mnemonic: Mnemonic, passphrase: &str) -> Result<Self, RecoveryError> {
        let seed = mnemonic.to_seed(passphrase);
        let key = ExtendedSecretKey::derive(&seed[..], &DerivationPath::identity())?;
        Ok(Account {
            identity: key.to_identity(),
            mnemonic,
        })
    }

    /// The mnemonic to write down.
    pub fn mnemonic(&self) -> &Mnemonic {
        &self.mnemonic
    }

    /// The identity key pair.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// Drops the mnemonic and keeps the identity.
    pub fn into_identity(self) -> IdentityKeyPair {
        self.identity
    }
}

#[cold]
fn unreachable_derivation() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("identity derivation failed for a 64-byte seed")
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("identity", self.identity.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn create_then_recover_gives_same_identity() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for words in [WordCount::Twelve, WordCount::TwentyFour] {
            let account = Account::create(&mut rng, words);
            let recovered = Account::recover(&account.mnemonic().phrase(), "").unwrap();
            assert_eq!(recovered.identity(), account.identity());
            let other = Account::recover(&account.mnemonic().phrase(), "x").unwrap();
            assert_ne!(other.identity(), account.identity());
        }
    }

    #[test]
    fn recover_reports_mnemonic_errors() {
        assert_eq!(
            Account::recover("zoo", "").err(),
            Some(RecoveryError::Mnemonic(MnemonicError::WordCount(1)))
        );
    }
}
