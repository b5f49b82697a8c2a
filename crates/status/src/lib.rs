//! Status 1:1 chat on Waku v2, in Rust: the facade that composes the layers.
//!
//! This crate is what a program embeds to chat: it keeps one encrypted database per
//! account ([`store`]), creates, restores and opens accounts ([`account`]), finds the
//! per-platform data directory ([`paths`]), and runs a node ([`node`]): a tokio task
//! joining the Waku relay node of `waku-relay` to the chat state machine of
//! `status-chat` over the sessions of `status-sessions`, with every state change
//! committed to the database ([`persist`]) before the messages it produced go out, and
//! missed messages fetched from store peers (13/WAKU2-STORE v3) when they connect. The
//! layers are re-exported for programs that need more: [`identity`], [`x3dh`],
//! [`noise`], [`sessions`], [`chat`] and [`relay`].
//!
//! Start a node with [`node::Node::builder`]: it creates, restores or opens the account
//! and returns a handle with the async API (contact code, add contact, accept or decline
//! requests, send text, reply, edit, delete, react, group chats, paged history) and a
//! stream of [`node::NodeEvent`]s. No fixed public bootstrap peers exist: give the
//! peers to dial.
//!
//! # Example
//!
//! ```
//! use status::account::{Account, CreateOptions};
//! use status::store::{KdfParams, Passphrase};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let passphrase = Passphrase::from("correct horse battery staple");
//! // Tests use cheap KDF parameters; real accounts keep the default.
//! let options = CreateOptions::default().with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY);
//! let (account, mnemonic) = Account::create(dir.path(), &passphrase, options, &mut rand::rng())?;
//! println!("write down your recovery phrase: {}", &*mnemonic.phrase());
//! let chat_key = account.chat_key().to_string();
//! drop(account);
//!
//! let account = Account::open(dir.path(), &passphrase)?;
//! assert_eq!(account.chat_key().to_string(), chat_key);
//! # Ok(())
//! # }
//! ```
//!
//! # Storage
//!
//! One SQLite database per account (`status.db` in the account's data directory),
//! rusqlite with SQLite bundled, in WAL mode with `synchronous = NORMAL` (a commit
//! survives a crash of the process; only an operating-system crash or power loss may
//! lose the last commits). The schema is versioned (`PRAGMA user_version`) and migrated
//! forward on open, one transaction per step; a database from a newer program is
//! refused. A second process opening the same database gets a clear "in use" error
//! (an advisory lock on `status.db.lock`).
//!
//! **Encryption at rest: sealed values, not SQLCipher.** rusqlite's bundled SQLCipher
//! needs OpenSSL (a system one, or a vendored build of it), which every machine that
//! builds the project would then need; the workspace already has `aes-gcm` and
//! `argon2`. So each secret and message body is sealed individually:
//!
//! - `argon2id(passphrase, 16-byte random salt)` (default 64 MiB, 3 passes, 1 lane;
//!   stored with the salt) gives a key-encryption key that wraps a random 32-byte
//!   database key with AES-256-GCM. A wrong passphrase fails the tag check:
//!   [`store::OpenError::WrongPassphrase`]. Changing the passphrase re-wraps only.
//! - Every value is `AES-256-GCM(random 96-bit nonce)` under a key derived from the
//!   database key, with the table and row as associated data, so values cannot be
//!   swapped between rows or tables unnoticed ([`store::StoreError::Corrupt`]).
//! - Every lookup key (peer public keys, chat ids, message ids, Waku message hashes,
//!   state keys) is replaced by its HMAC-SHA256 under another derived key ("blinded"),
//!   so the file does not say who you talk to.
//!
//! What someone holding the file (and not the passphrase) **does** learn: that it is an
//! account database of this program, the KDF parameters, the table layout, how many
//! contacts, chats, messages, queued messages and state entries there are, the size of
//! each value (message lengths, padded to nothing), which messages belong to the same
//! chat (equal blinded chat ids) and their insertion order, and when duplicates were
//! last seen (`seen.at`, seconds). What they **do not** learn: keys, session state,
//! message text or metadata, contact names, public keys, chat ids. SQLCipher would also
//! hide the layout, counts and sizes (it encrypts whole pages); that is the price of
//! not building OpenSSL. Free pages may keep old sealed values until SQLite reuses them;
//! they are sealed too.
//!
//! Measured with `cargo bench -p status --bench store` on the 2-core development
//! machine (shared with other builds): opening with the default parameters takes
//! 1.6 s (argon2id, 64 MiB, 3 passes); one committed transaction storing a 1 KiB
//! message and 600 bytes of session state takes 0.32 ms (sealing, blinding and the
//! WAL commit).

pub mod account;
#[doc(hidden)]
pub mod fuzzing;
pub mod node;
pub mod paths;
pub mod persist;
pub mod store;

pub use status_chat as chat;
pub use status_identity as identity;
pub use status_noise as noise;
pub use status_sessions as sessions;
pub use status_x3dh as x3dh;
pub use waku_relay as relay;
