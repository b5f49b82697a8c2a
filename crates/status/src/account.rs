//! Accounts on disk: create (with a mnemonic shown once), restore from a mnemonic, open
//! with the passphrase.
//!
//! An account is a data directory holding one encrypted database ([`DATABASE_FILE`]).
//! The identity key is derived from a BIP39 mnemonic (DESIGN.md rule 8, by
//! `status-identity`); the mnemonic itself is never stored: it is handed back once at
//! creation for the user to write down. Also created and kept: this device's
//! installation id and a signed prekey (for the X3DH bundle in the contact code).

use std::fmt;
use std::path::{Path, PathBuf};

use rand::CryptoRng;
use status_identity::{
    Alias, ChatKey, ContactCodeError, EmojiHash, Identicon, IdentityKeyPair, IdentityPublicKey,
    Mnemonic, RecoveryError, WordCount,
};
use status_x3dh::{InstallationId, SignedPreKeyPair};
use zeroize::Zeroizing;

use crate::store::{KdfParams, OpenError, Passphrase, Store, StoreError};

/// File name of the account database inside the data directory.
pub const DATABASE_FILE: &str = "status.db";

/// Namespace of the account's own records in the store.
const NS: &str = "account";
const KEY_IDENTITY: &[u8] = b"identity.ed25519.seed";
const KEY_INSTALLATION: &[u8] = b"installation.id";
const KEY_PREKEY: &[u8] = b"prekey.x25519";
const KEY_DISPLAY_NAME: &[u8] = b"display-name";

/// Why an account could not be created, restored or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No account in this data directory.
    #[error("there is no account in {0}; create one first")]
    NoAccount(PathBuf),
    /// The data directory already holds an account.
    #[error("{0} already holds an account")]
    AlreadyExists(PathBuf),
    /// The database could not be opened (wrong passphrase, in use, damaged, ...).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Reading or writing the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The recovery phrase is not valid.
    #[error("invalid recovery phrase: {0}")]
    Recovery(#[from] RecoveryError),
    /// The database opened but a required account record is missing or malformed.
    #[error("the account database is damaged: {0}")]
    Damaged(&'static str),
    /// A contact code could not be made.
    #[error("cannot make a contact code: {0}")]
    ContactCode(#[from] ContactCodeError),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Options for a new account.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateOptions {
    /// Cost of the passphrase KDF.
    pub kdf: KdfParams,
    /// Length of a new mnemonic.
    pub words: WordCount,
    /// The display name put in contact codes (may be empty).
    pub display_name: String,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            kdf: KdfParams::DEFAULT,
            words: WordCount::Twelve,
            display_name: String::new(),
        }
    }
}

impl CreateOptions {
    /// Sets the KDF cost.
    pub fn with_kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    /// Sets the mnemonic length.
    pub fn with_words(mut self, words: WordCount) -> Self {
        self.words = words;
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
}

/// An open account: its identity, device and database.
pub struct Account {
    dir: PathBuf,
    store: Store,
    identity: IdentityKeyPair,
    installation: InstallationId,
    prekey: SignedPreKeyPair,
    display_name: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("dir", &self.dir)
            .field("public", self.identity.public_key())
            .field("installation", &self.installation)
            .finish_non_exhaustive()
    }
}

/// Path of the database of the account in `dir`.
pub fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE_FILE)
}

/// Whether `dir` holds an account database.
pub fn exists(dir: &Path) -> bool {
    database_path(dir).is_file()
}

/// Creates `dir` (private to the user on Unix) if it does not exist.
pub fn ensure_data_dir(dir: &Path) -> Result<(), AccountError> {
    let err = |source| AccountError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(err)
}

fn random_installation_id<R: CryptoRng + ?Sized>(rng: &mut R) -> InstallationId {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // 32 ASCII characters, far below the 65535-byte limit.
    match InstallationId::new(text) {
        Ok(id) => id,
        Err(_) => unreachable_short_id(),
    }
}

#[cold]
fn unreachable_short_id() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("a 32-character installation id is always valid")
    }
}

impl Account {
    /// Creates a new account in `dir` with a fresh mnemonic, returned once so the user
    /// can write it down. Fails if `dir` already holds an account.
    pub fn create<R: CryptoRng + ?Sized>(
        dir: &Path,
        passphrase: &Passphrase,
        options: CreateOptions,
        rng: &mut R,
    ) -> Result<(Account, Mnemonic), AccountError> {
        let derived = status_identity::Account::create(rng, options.words);
        let mnemonic = Mnemonic::parse(&derived.mnemonic().phrase())
            .map_err(|e| AccountError::Recovery(e.into()))?;
        let account =
            Self::create_with_identity(dir, passphrase, derived.into_identity(), &options, rng)?;
        Ok((account, mnemonic))
    }

    /// Restores an account in `dir` from its recovery phrase: the same words give back
    /// the same identity (chat key). A new installation id and prekey are made.
    pub fn restore<R: CryptoRng + ?Sized>(
        dir: &Path,
        passphrase: &Passphrase,
        phrase: &str,
        options: CreateOptions,
        rng: &mut R,
    ) -> Result<Account, AccountError> {
        let derived = status_identity::Account::recover(phrase, "")?;
        Self::create_with_identity(dir, passphrase, derived.into_identity(), &options, rng)
    }

    fn create_with_identity<R: CryptoRng + ?Sized>(
        dir: &Path,
        passphrase: &Passphrase,
        identity: IdentityKeyPair,
        options: &CreateOptions,
        rng: &mut R,
    ) -> Result<Account, AccountError> {
        if exists(dir) {
            return Err(AccountError::AlreadyExists(dir.to_path_buf()));
        }
        ensure_data_dir(dir)?;
        let mut store = Store::create(&database_path(dir), passphrase, options.kdf, rng)?;
        let installation = random_installation_id(rng);
        let prekey = SignedPreKeyPair::generate(rng, 1);
        let display_name = options.display_name.clone();
        store.transaction(|tx| {
            tx.kv_put(NS, KEY_IDENTITY, &identity.to_secret_bytes()[..])?;
            tx.kv_put(NS, KEY_INSTALLATION, installation.as_str().as_bytes())?;
            tx.kv_put(NS, KEY_PREKEY, &encode_prekey(&prekey))?;
            tx.kv_put(NS, KEY_DISPLAY_NAME, display_name.as_bytes())?;
            Ok::<_, StoreError>(())
        })?;
        tracing::info!(dir = %dir.display(), "account created");
        Ok(Account {
            dir: dir.to_path_buf(),
            store,
            identity,
            installation,
            prekey,
            display_name,
        })
    }

    /// Opens the account in `dir` with its passphrase.
    pub fn open(dir: &Path, passphrase: &Passphrase) -> Result<Account, AccountError> {
        if !exists(dir) {
            return Err(AccountError::NoAccount(dir.to_path_buf()));
        }
        let mut store = Store::open(&database_path(dir), passphrase)?;
        let (seed, installation, prekey, name) = store.transaction(|tx| {
            Ok::<_, StoreError>((
                tx.kv_get(NS, KEY_IDENTITY)?,
                tx.kv_get(NS, KEY_INSTALLATION)?,
                tx.kv_get(NS, KEY_PREKEY)?,
                tx.kv_get(NS, KEY_DISPLAY_NAME)?,
            ))
        })?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.as_deref()
                .and_then(|s| <[u8; 32]>::try_from(s.as_slice()).ok())
                .ok_or(AccountError::Damaged("identity key missing"))?,
        );
        let identity = IdentityKeyPair::from_secret_bytes(&seed);
        let installation = installation
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .and_then(|s| InstallationId::new(s).ok())
            .ok_or(AccountError::Damaged("installation id missing"))?;
        let prekey = prekey
            .as_deref()
            .and_then(|b| decode_prekey(b))
            .ok_or(AccountError::Damaged("prekey missing"))?;
        let display_name = name
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .unwrap_or_default();
        tracing::info!(dir = %dir.display(), "account opened");
        Ok(Account {
            dir: dir.to_path_buf(),
            store,
            identity,
            installation,
            prekey,
            display_name,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The identity key pair.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The identity public key.
    pub fn public_key(&self) -> &IdentityPublicKey {
        self.identity.public_key()
    }

    /// The chat key users share (`z6Mk…`).
    pub fn chat_key(&self) -> ChatKey {
        ChatKey::from(*self.identity.public_key())
    }

    /// The three-word alias.
    pub fn alias(&self) -> Alias {
        Alias::new(self.identity.public_key())
    }

    /// The emoji hash.
    pub fn emoji_hash(&self) -> EmojiHash {
        EmojiHash::new(self.identity.public_key())
    }

    /// The identicon.
    pub fn identicon(&self) -> Identicon {
        Identicon::new(self.identity.public_key())
    }

    /// An installation id made at account creation (reserved; the node's sessions
    /// keep their own, see [`crate::node::contact_code`]).
    pub fn installation_id(&self) -> &InstallationId {
        &self.installation
    }

    /// A signed prekey made at account creation (reserved; the node's sessions keep
    /// their own).
    pub fn prekey(&self) -> &SignedPreKeyPair {
        &self.prekey
    }

    /// The display name put in contact codes.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Changes the display name.
    pub fn set_display_name(&mut self, name: &str) -> Result<(), AccountError> {
        self.store
            .transaction(|tx| tx.kv_put(NS, KEY_DISPLAY_NAME, name.as_bytes()))?;
        self.display_name = name.to_owned();
        Ok(())
    }

    /// The database, for the layers' stores.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Changes the passphrase.
    pub fn change_passphrase<R: CryptoRng + ?Sized>(
        &mut self,
        new: &Passphrase,
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<(), AccountError> {
        Ok(self.store.change_passphrase(new, kdf, rng)?)
    }
}

pub(crate) fn encode_prekey(prekey: &SignedPreKeyPair) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(36));
    out.extend_from_slice(&prekey.public().version.to_be_bytes());
    out.extend_from_slice(&prekey.to_secret_bytes()[..]);
    out
}

pub(crate) fn decode_prekey(bytes: &[u8]) -> Option<SignedPreKeyPair> {
    let version = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?);
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.get(4..36)?.try_into().ok()?);
    if bytes.len() != 36 {
        return None;
    }
    Some(SignedPreKeyPair::from_secret_bytes(&secret, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn fast() -> CreateOptions {
        CreateOptions::default()
            .with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY)
            .with_display_name("Alice")
    }

    #[test]
    fn create_open_restore() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("alice");
        let pass = Passphrase::from("pw");
        let (account, mnemonic) = Account::create(&dir, &pass, fast(), &mut rng).unwrap();
        assert_eq!(mnemonic.word_count(), 12);
        let key = account.chat_key().to_string();
        assert!(key.starts_with('z'));
        let installation = account.installation_id().clone();
        let prekey_pub = account.prekey().public();
        drop(account);

        assert!(matches!(
            Account::create(&dir, &pass, fast(), &mut rng),
            Err(AccountError::AlreadyExists(_))
        ));
        assert!(matches!(
            Account::open(&dir, &"nope".into()),
            Err(AccountError::Open(OpenError::WrongPassphrase))
        ));
        let account = Account::open(&dir, &pass).unwrap();
        assert_eq!(account.chat_key().to_string(), key);
        assert_eq!(account.installation_id(), &installation);
        assert_eq!(account.prekey().public(), prekey_pub);
        assert_eq!(account.display_name(), "Alice");
        drop(account);

        // Restoring the phrase elsewhere gives the same chat key, a new installation.
        let other = root.path().join("restored");
        let restored =
            Account::restore(&other, &"pw2".into(), &mnemonic.phrase(), fast(), &mut rng).unwrap();
        assert_eq!(restored.chat_key().to_string(), key);
        assert_ne!(restored.installation_id(), &installation);

        assert!(matches!(
            Account::restore(
                &root.path().join("bad"),
                &pass,
                "not a valid phrase at all",
                fast(),
                &mut rng
            ),
            Err(AccountError::Recovery(_))
        ));
        assert!(matches!(
            Account::open(&root.path().join("none"), &pass),
            Err(AccountError::NoAccount(_))
        ));
    }
}
