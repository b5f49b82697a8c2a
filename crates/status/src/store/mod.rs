//! The encrypted account database: one SQLite file per account, in WAL mode, with every
//! secret and message body sealed by AES-256-GCM under a key that only the passphrase
//! unlocks.
//!
//! See the crate docs ("Storage") for the choice of sealing over SQLCipher and for what
//! an attacker holding the file does and does not learn.
//!
//! All writes go through [`Store::transaction`]: a state change and the messages it
//! produced or consumed are committed together, or not at all.

mod crypto;
mod schema;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rand::CryptoRng;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use zeroize::Zeroizing;

use crypto::{BLIND_BYTES, DatabaseKeys, KeyUnwrapError, SALT_BYTES, WrappedKey};
pub use crypto::{KdfParams, SEAL_OVERHEAD_BYTES};

/// The schema version this program writes.
pub const SCHEMA_VERSION: u32 = schema::LATEST;

/// Largest value the store accepts in one row (a Waku message is at most 150 KiB; the
/// rest is room for state).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// A passphrase. Zeroized on drop; `Debug` does not print it.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Wraps the bytes of a passphrase.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Passphrase(Zeroizing::new(bytes.into()))
    }

    /// The passphrase bytes. Keep them secret.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// True if the passphrase is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Passphrase {
    fn from(s: String) -> Self {
        Passphrase::new(s.into_bytes())
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase::new(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Why an account database could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// There is no database at this path.
    #[error("no account database at {0}")]
    NotFound(PathBuf),
    /// A database already exists at this path (create refuses to overwrite it).
    #[error("an account database already exists at {0}")]
    AlreadyExists(PathBuf),
    /// The passphrase does not unlock this database.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Another process has this database open.
    #[error("the account database at {0} is in use by another process")]
    Locked(PathBuf),
    /// The file is not an account database of this program (or is damaged).
    #[error("{0} is not an account database of this program, or it is damaged")]
    NotAnAccount(PathBuf),
    /// The database was written by a newer version of this program.
    #[error(
        "the account database has schema version {found}, newer than the {supported} this program knows; upgrade the program"
    )]
    NewerSchema {
        /// Version found in the file.
        found: u32,
        /// Newest version this program knows.
        supported: u32,
    },
    /// The key-derivation parameters are not acceptable to argon2.
    #[error("invalid key-derivation parameters")]
    BadKdfParams,
    /// The passphrase is empty.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The file system refused.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Sql(#[from] StoreError),
}

/// A failure while reading or writing an open store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (disk full, I/O error, ...).
    #[error("{0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value did not authenticate: the file was tampered with or damaged.
    #[error("a stored value in table {table} does not authenticate (tampered or damaged)")]
    Corrupt {
        /// The table.
        table: &'static str,
    },
    /// A value is larger than [`MAX_VALUE_BYTES`].
    #[error("value of {0} bytes is larger than the store accepts")]
    TooLarge(usize),
}

/// A table of records: a blinded key, a sealed `(key, value)` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordTable {
    /// Contacts, keyed by public key bytes.
    Contacts,
    /// Chats, keyed by chat id bytes.
    Chats,
}

impl RecordTable {
    fn name(self) -> &'static str {
        match self {
            RecordTable::Contacts => "contacts",
            RecordTable::Chats => "chats",
        }
    }
}

/// The position of a message in the store (insertion order), for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub i64);

/// A stored message: its position and its body.
pub struct StoredMessage {
    /// Position in insertion order.
    pub seq: Seq,
    /// The body as stored (opened). Zeroized on drop.
    pub body: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredMessage")
            .field("seq", &self.seq)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// An open, unlocked account database.
pub struct Store {
    conn: Connection,
    keys: DatabaseKeys,
    path: PathBuf,
    // Held for the lifetime of the store: an exclusive advisory lock on `<db>.lock`.
    _lock: File,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const META_KDF: &str = "kdf.argon2id.params";
const META_SALT: &str = "kdf.argon2id.salt";
const META_WRAPPED: &str = "key.wrapped";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn take_lock(path: &Path) -> Result<File, OpenError> {
    let lock_path = lock_path(path);
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(&lock_path).map_err(io_err(&lock_path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Locked(path.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&lock_path)(e)),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL: readers do not block the writer, and a commit is one append. NORMAL
    // synchronisation in WAL mode survives a crash of the process (SIGKILL); only an
    // operating-system crash or power loss may lose the last commits.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn map_sqlite_open(path: &Path, e: rusqlite::Error) -> OpenError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => OpenError::NotAnAccount(path.to_path_buf()),
        _ => OpenError::Sql(StoreError::Sql(e)),
    }
}

impl Store {
    /// Creates a new, empty account database at `path`, protected by `passphrase`.
    ///
    /// Fails with [`OpenError::AlreadyExists`] if a file is already there.
    pub fn create<R: CryptoRng + ?Sized>(
        path: &Path,
        passphrase: &Passphrase,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<Store, OpenError> {
        if passphrase.is_empty() {
            return Err(OpenError::EmptyPassphrase);
        }
        if path.exists() {
            return Err(OpenError::AlreadyExists(path.to_path_buf()));
        }
        let lock = take_lock(path)?;
        // Create the file ourselves so that it is private from the first byte.
        let mut options = OpenOptions::new();
        options.create_new(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                OpenError::AlreadyExists(path.to_path_buf())
            } else {
                io_err(path)(e)
            }
        })?;
        let keys = DatabaseKeys::generate(rng);
        let wrapped = keys
            .wrap(passphrase.expose(), params, rng)
            .map_err(|_| OpenError::BadKdfParams)?;
        let result = (|| -> Result<Connection, OpenError> {
            let mut conn = Connection::open(path).map_err(|e| map_sqlite_open(path, e))?;
            configure(&conn).map_err(StoreError::from)?;
            schema::migrate_to(&mut conn, schema::LATEST).map_err(|e| match e {
                schema::MigrateError::TooNew(found) => OpenError::NewerSchema {
                    found,
                    supported: schema::LATEST,
                },
                schema::MigrateError::Sql(e) => OpenError::Sql(e.into()),
            })?;
            write_wrapped(&mut conn, &wrapped).map_err(StoreError::from)?;
            Ok(conn)
        })();
        match result {
            Ok(conn) => Ok(Store {
                conn,
                keys,
                path: path.to_path_buf(),
                _lock: lock,
            }),
            Err(e) => {
                // Leave nothing half-made behind.
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Opens the account database at `path` with `passphrase`, migrating its schema to
    /// the newest version once the passphrase has been checked.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Store, OpenError> {
        if !path.is_file() {
            return Err(OpenError::NotFound(path.to_path_buf()));
        }
        let lock = take_lock(path)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| map_sqlite_open(path, e))?;
        configure(&conn).map_err(|e| map_sqlite_open(path, e))?;
        let found = schema::version(&conn).map_err(|e| map_sqlite_open(path, e))?;
        if found > schema::LATEST {
            return Err(OpenError::NewerSchema {
                found,
                supported: schema::LATEST,
            });
        }
        if found == 0 {
            return Err(OpenError::NotAnAccount(path.to_path_buf()));
        }
        let wrapped = read_wrapped(&conn)
            .map_err(|e| map_sqlite_open(path, e))?
            .ok_or_else(|| OpenError::NotAnAccount(path.to_path_buf()))?;
        let keys = DatabaseKeys::unwrap(passphrase.expose(), &wrapped).map_err(|e| match e {
            KeyUnwrapError::WrongPassphrase => OpenError::WrongPassphrase,
            KeyUnwrapError::BadParams => OpenError::BadKdfParams,
            KeyUnwrapError::Malformed => OpenError::NotAnAccount(path.to_path_buf()),
        })?;
        schema::migrate_to(&mut conn, schema::LATEST).map_err(|e| match e {
            schema::MigrateError::TooNew(found) => OpenError::NewerSchema {
                found,
                supported: schema::LATEST,
            },
            schema::MigrateError::Sql(e) => OpenError::Sql(e.into()),
        })?;
        Ok(Store {
            conn,
            keys,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-wraps the database key under a new passphrase (the data is not re-encrypted).
    pub fn change_passphrase<R: CryptoRng + ?Sized>(
        &mut self,
        new: &Passphrase,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<(), OpenError> {
        if new.is_empty() {
            return Err(OpenError::EmptyPassphrase);
        }
        let wrapped = self
            .keys
            .wrap(new.expose(), params, rng)
            .map_err(|_| OpenError::BadKdfParams)?;
        write_wrapped(&mut self.conn, &wrapped).map_err(StoreError::from)?;
        Ok(())
    }

    /// Runs `f` in one SQLite transaction: everything it writes is committed together
    /// when it returns `Ok`, and nothing is when it returns `Err`.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let mut wrapper = Tx {
            tx,
            keys: &self.keys,
            rng: rand::rng(),
        };
        let value = f(&mut wrapper)?;
        wrapper.tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Sizes of the database as SQLite sees them: `(page_count * page_size, freelist
    /// pages * page_size)`, in bytes (the WAL file comes on top until a checkpoint).
    pub fn size_bytes(&self) -> Result<(u64, u64), StoreError> {
        let get = |name: &str| -> Result<u64, StoreError> {
            let v: i64 = self.conn.pragma_query_value(None, name, |r| r.get(0))?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        let page_size = get("page_size")?;
        Ok((
            get("page_count")? * page_size,
            get("freelist_count")? * page_size,
        ))
    }

    /// Moves the WAL into the main file (e.g. before measuring its size or a backup).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn write_wrapped(conn: &mut Connection, wrapped: &WrappedKey) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let put = |name: &str, value: &[u8]| -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    };
    put(META_KDF, &wrapped.params.to_bytes())?;
    put(META_SALT, &wrapped.salt)?;
    put(META_WRAPPED, &wrapped.sealed)?;
    tx.commit()
}

fn read_wrapped(conn: &Connection) -> rusqlite::Result<Option<WrappedKey>> {
    let get = |name: &str| -> rusqlite::Result<Option<Vec<u8>>> {
        conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
    };
    let (Some(params), Some(salt), Some(sealed)) =
        (get(META_KDF)?, get(META_SALT)?, get(META_WRAPPED)?)
    else {
        return Ok(None);
    };
    let Some(params) = KdfParams::from_bytes(&params) else {
        return Ok(None);
    };
    let Ok(salt) = <[u8; SALT_BYTES]>::try_from(salt.as_slice()) else {
        return Ok(None);
    };
    Ok(Some(WrappedKey {
        params,
        salt,
        sealed,
    }))
}

/// A write transaction on the store. Every value written is sealed, every key blinded.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    keys: &'a DatabaseKeys,
    rng: rand::rngs::ThreadRng,
}

impl fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

fn check_len(len: usize) -> Result<(), StoreError> {
    if len > MAX_VALUE_BYTES {
        Err(StoreError::TooLarge(len))
    } else {
        Ok(())
    }
}

/// `u32 BE len(key) || key || value`: records carry their own key so that tables keyed
/// by a blinded key can still be listed.
pub(crate) fn encode_record(key: &[u8], value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(4 + key.len() + value.len()));
    // Keys are bounded by MAX_VALUE_BYTES, far below u32::MAX.
    out.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

type Record = (Vec<u8>, Zeroizing<Vec<u8>>);

pub(crate) fn decode_record(bytes: &[u8]) -> Option<Record> {
    let len: [u8; 4] = bytes.get(0..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len)).ok()?;
    let key = bytes.get(4..4usize.checked_add(len)?)?.to_vec();
    let value = Zeroizing::new(bytes.get(4 + len..)?.to_vec());
    Some((key, value))
}

impl Tx<'_> {
    fn kv_row(&self, ns: &str, key: &[u8]) -> [u8; BLIND_BYTES] {
        let mut label = String::with_capacity(3 + ns.len());
        label.push_str("kv/");
        label.push_str(ns);
        self.keys.blind(&label, key)
    }

    /// The value stored under `(ns, key)`.
    pub fn kv_get(&self, ns: &str, key: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let row = self.kv_row(ns, key);
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT value FROM kv WHERE ns = ?1 AND key = ?2",
                params![ns, &row[..]],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self
            .keys
            .open("kv", &row, &sealed)
            .ok_or(StoreError::Corrupt { table: "kv" })?;
        let (_, value) = decode_record(&plain).ok_or(StoreError::Corrupt { table: "kv" })?;
        Ok(Some(value))
    }

    /// Stores `value` under `(ns, key)`, replacing what was there.
    pub fn kv_put(&mut self, ns: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_len(key.len() + value.len())?;
        let row = self.kv_row(ns, key);
        let sealed = self
            .keys
            .seal("kv", &row, &encode_record(key, value), &mut self.rng);
        self.tx.execute(
            "INSERT INTO kv (ns, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
            params![ns, &row[..], sealed],
        )?;
        Ok(())
    }

    /// Deletes `(ns, key)`; returns whether it existed.
    pub fn kv_delete(&mut self, ns: &str, key: &[u8]) -> Result<bool, StoreError> {
        let row = self.kv_row(ns, key);
        let n = self.tx.execute(
            "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
            params![ns, &row[..]],
        )?;
        Ok(n > 0)
    }

    /// Every `(key, value)` of namespace `ns`, in no particular order.
    pub fn kv_scan(&self, ns: &str) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT key, value FROM kv WHERE ns = ?1")?;
        let rows = stmt.query_map([ns], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (blinded, sealed) = row?;
            let plain = self
                .keys
                .open("kv", &blinded, &sealed)
                .ok_or(StoreError::Corrupt { table: "kv" })?;
            let (key, value) = decode_record(&plain).ok_or(StoreError::Corrupt { table: "kv" })?;
            if self.kv_row(ns, &key) != blinded.as_slice() {
                return Err(StoreError::Corrupt { table: "kv" });
            }
            out.push((key, value));
        }
        Ok(out)
    }

    /// The record stored under `key` in `table`.
    pub fn record_get(
        &self,
        table: RecordTable,
        key: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let name = table.name();
        let row = self.keys.blind(name, key);
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row(
                &format!("SELECT value FROM {name} WHERE key = ?1"),
                [&row[..]],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self
            .keys
            .open(name, &row, &sealed)
            .ok_or(StoreError::Corrupt { table: name })?;
        let (_, value) = decode_record(&plain).ok_or(StoreError::Corrupt { table: name })?;
        Ok(Some(value))
    }

    /// Stores `value` under `key` in `table`, replacing what was there.
    pub fn record_put(
        &mut self,
        table: RecordTable,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        check_len(key.len() + value.len())?;
        let name = table.name();
        let row = self.keys.blind(name, key);
        let sealed = self
            .keys
            .seal(name, &row, &encode_record(key, value), &mut self.rng);
        self.tx.execute(
            &format!(
                "INSERT INTO {name} (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            params![&row[..], sealed],
        )?;
        Ok(())
    }

    /// Deletes `key` from `table`; returns whether it existed.
    pub fn record_delete(&mut self, table: RecordTable, key: &[u8]) -> Result<bool, StoreError> {
        let name = table.name();
        let row = self.keys.blind(name, key);
        let n = self
            .tx
            .execute(&format!("DELETE FROM {name} WHERE key = ?1"), [&row[..]])?;
        Ok(n > 0)
    }

    /// Every `(key, value)` of `table`, in no particular order.
    pub fn record_scan(&self, table: RecordTable) -> Result<Vec<Record>, StoreError> {
        let name = table.name();
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT key, value FROM {name}"))?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (blinded, sealed) = row?;
            let plain = self
                .keys
                .open(name, &blinded, &sealed)
                .ok_or(StoreError::Corrupt { table: name })?;
            let (key, value) = decode_record(&plain).ok_or(StoreError::Corrupt { table: name })?;
            if self.keys.blind(name, &key) != blinded.as_slice() {
                return Err(StoreError::Corrupt { table: name });
            }
            out.push((key, value));
        }
        Ok(out)
    }

    fn message_row(&self, msg_id: &[u8]) -> [u8; BLIND_BYTES] {
        self.keys.blind("messages/id", msg_id)
    }

    /// Appends a message to `chat`. Returns its position, or `None` if a message with
    /// this id is already stored (a duplicate: nothing is written).
    pub fn message_insert(
        &mut self,
        chat: &[u8],
        msg_id: &[u8],
        body: &[u8],
    ) -> Result<Option<Seq>, StoreError> {
        check_len(body.len())?;
        let row = self.message_row(msg_id);
        let chat_row = self.keys.blind("messages/chat", chat);
        let sealed = self.keys.seal("messages", &row, body, &mut self.rng);
        let n = self.tx.execute(
            "INSERT INTO messages (chat, msg_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (msg_id) DO NOTHING",
            params![&chat_row[..], &row[..], sealed],
        )?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Seq(self.tx.last_insert_rowid())))
    }

    /// Replaces the body of a stored message (an edit, a delivery tick, a deletion
    /// marker); returns whether it existed.
    pub fn message_update(&mut self, msg_id: &[u8], body: &[u8]) -> Result<bool, StoreError> {
        check_len(body.len())?;
        let row = self.message_row(msg_id);
        let sealed = self.keys.seal("messages", &row, body, &mut self.rng);
        let n = self.tx.execute(
            "UPDATE messages SET body = ?2 WHERE msg_id = ?1",
            params![&row[..], sealed],
        )?;
        Ok(n > 0)
    }

    /// The stored message with this id.
    pub fn message_get(&self, msg_id: &[u8]) -> Result<Option<StoredMessage>, StoreError> {
        let row = self.message_row(msg_id);
        let found: Option<(i64, Vec<u8>)> = self
            .tx
            .query_row(
                "SELECT seq, body FROM messages WHERE msg_id = ?1",
                [&row[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((seq, sealed)) = found else {
            return Ok(None);
        };
        let body = self
            .keys
            .open("messages", &row, &sealed)
            .ok_or(StoreError::Corrupt { table: "messages" })?;
        Ok(Some(StoredMessage {
            seq: Seq(seq),
            body,
        }))
    }

    /// A page of `chat`'s messages, newest first: at most `limit` messages older than
    /// `before` (or the newest ones when `before` is `None`).
    pub fn messages_page(
        &self,
        chat: &[u8],
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let chat_row = self.keys.blind("messages/chat", chat);
        let before = before.map_or(i64::MAX, |s| s.0);
        let mut stmt = self.tx.prepare_cached(
            "SELECT seq, msg_id, body FROM messages WHERE chat = ?1 AND seq < ?2
             ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![&chat_row[..], before, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        self.open_messages(rows)
    }

    /// Opens sealed `(seq, message id row, body)` rows; a value that fails its tag is
    /// [`StoreError::Corrupt`].
    fn open_messages(
        &self,
        rows: impl Iterator<Item = rusqlite::Result<(i64, Vec<u8>, Vec<u8>)>>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut out = Vec::new();
        for row in rows {
            let (seq, id_row, sealed) = row?;
            let body = self
                .keys
                .open("messages", &id_row, &sealed)
                .ok_or(StoreError::Corrupt { table: "messages" })?;
            out.push(StoredMessage {
                seq: Seq(seq),
                body,
            });
        }
        Ok(out)
    }

    /// Every stored message of every chat, in insertion order.
    pub fn messages_scan(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT seq, msg_id, body FROM messages ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        self.open_messages(rows)
    }

    /// How many messages `chat` has.
    pub fn message_count(&self, chat: &[u8]) -> Result<u64, StoreError> {
        let chat_row = self.keys.blind("messages/chat", chat);
        let n: i64 = self.tx.query_row(
            "SELECT COUNT(*) FROM messages WHERE chat = ?1",
            [&chat_row[..]],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Queues an encoded outgoing message; it stays until [`Tx::outbox_remove`].
    pub fn outbox_push(&mut self, message: &[u8]) -> Result<Seq, StoreError> {
        check_len(message.len())?;
        // The row is sealed under its future rowid; reserve it first.
        let next: i64 =
            self.tx
                .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox", [], |r| {
                    r.get(0)
                })?;
        let next = next.max(
            self.tx
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .map_or(0, |s| s + 1),
        );
        let sealed = self
            .keys
            .seal("outbox", &next.to_be_bytes(), message, &mut self.rng);
        self.tx.execute(
            "INSERT INTO outbox (seq, body) VALUES (?1, ?2)",
            params![next, sealed],
        )?;
        Ok(Seq(next))
    }

    /// Every queued outgoing message, oldest first.
    pub fn outbox_pending(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT seq, body FROM outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, sealed) = row?;
            let body = self
                .keys
                .open("outbox", &seq.to_be_bytes(), &sealed)
                .ok_or(StoreError::Corrupt { table: "outbox" })?;
            out.push(StoredMessage {
                seq: Seq(seq),
                body,
            });
        }
        Ok(out)
    }

    /// Removes a queued outgoing message once it has been handed to the network.
    pub fn outbox_remove(&mut self, seq: Seq) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .execute("DELETE FROM outbox WHERE seq = ?1", [seq.0])?
            > 0)
    }

    /// Records that the Waku message with this hash has been processed; returns `false`
    /// if it already was (a duplicate to drop).
    pub fn seen_insert(&mut self, hash: &[u8], now_secs: i64) -> Result<bool, StoreError> {
        let row = self.keys.blind("seen", hash);
        let n = self.tx.execute(
            "INSERT INTO seen (hash, at) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
            params![&row[..], now_secs],
        )?;
        Ok(n > 0)
    }

    /// Whether the Waku message with this hash has been processed.
    pub fn seen_contains(&self, hash: &[u8]) -> Result<bool, StoreError> {
        let row = self.keys.blind("seen", hash);
        Ok(self
            .tx
            .query_row("SELECT 1 FROM seen WHERE hash = ?1", [&row[..]], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Forgets hashes recorded before `before_secs`; returns how many.
    pub fn seen_prune(&mut self, before_secs: i64) -> Result<usize, StoreError> {
        Ok(self
            .tx
            .execute("DELETE FROM seen WHERE at < ?1", [before_secs])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    const FAST: KdfParams = KdfParams::INSECURE_FOR_TESTS_ONLY;

    fn new_store(dir: &Path) -> Store {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        Store::create(&dir.join("a.db"), &"pass".into(), FAST, &mut rng).unwrap()
    }

    #[test]
    fn create_open_wrong_passphrase_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut store = Store::create(&path, &"pass".into(), FAST, &mut rng).unwrap();
        store.transaction(|tx| tx.kv_put("ns", b"k", b"v")).unwrap();
        // Locked while open.
        assert!(matches!(
            Store::open(&path, &"pass".into()),
            Err(OpenError::Locked(_))
        ));
        assert!(matches!(
            Store::create(&path, &"pass".into(), FAST, &mut rng),
            Err(OpenError::AlreadyExists(_))
        ));
        drop(store);
        assert!(matches!(
            Store::open(&path, &"wrong".into()),
            Err(OpenError::WrongPassphrase)
        ));
        let mut store = Store::open(&path, &"pass".into()).unwrap();
        let v = store.transaction(|tx| tx.kv_get("ns", b"k")).unwrap();
        assert_eq!(v.as_deref().map(|v| &v[..]), Some(&b"v"[..]));
        assert!(matches!(
            Store::open(&dir.path().join("missing.db"), &"pass".into()),
            Err(OpenError::NotFound(_))
        ));
    }

    #[test]
    fn rejects_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
        assert!(matches!(
            Store::open(&junk, &"pass".into()),
            Err(OpenError::NotAnAccount(_))
        ));
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            Store::open(&empty, &"pass".into()),
            Err(OpenError::NotAnAccount(_))
        ));
    }

    #[test]
    fn change_passphrase_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        store
            .transaction(|tx| tx.kv_put("a", b"1", b"one"))
            .unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        store
            .change_passphrase(&"new pass".into(), FAST, &mut rng)
            .unwrap();
        drop(store);
        let path = dir.path().join("a.db");
        assert!(matches!(
            Store::open(&path, &"pass".into()),
            Err(OpenError::WrongPassphrase)
        ));
        let mut store = Store::open(&path, &"new pass".into()).unwrap();
        let v = store
            .transaction(|tx| tx.kv_get("a", b"1"))
            .unwrap()
            .unwrap();
        assert_eq!(&v[..], b"one");
    }

    #[test]
    fn rollback_on_error_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        let result: Result<(), StoreError> = store.transaction(|tx| {
            tx.kv_put("s", b"session", b"advanced")?;
            tx.outbox_push(b"wire bytes")?;
            Err(StoreError::TooLarge(0))
        });
        assert!(result.is_err());
        store
            .transaction(|tx| {
                assert!(tx.kv_get("s", b"session")?.is_none());
                assert!(tx.outbox_pending()?.is_empty());
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn kv_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        store
            .transaction(|tx| {
                tx.kv_put("sessions", b"alice", b"s1")?;
                tx.kv_put("sessions", b"bob", b"s2")?;
                tx.kv_put("other", b"alice", b"x")?;
                tx.kv_put("sessions", b"alice", b"s1b")?;
                let mut all = tx.kv_scan("sessions")?;
                all.sort_by(|a, b| a.0.cmp(&b.0));
                assert_eq!(all.len(), 2);
                assert_eq!(all[0].0, b"alice");
                assert_eq!(&all[0].1[..], b"s1b");
                assert!(tx.kv_delete("sessions", b"bob")?);
                assert!(!tx.kv_delete("sessions", b"bob")?);
                tx.record_put(RecordTable::Contacts, b"key-a", b"Alice")?;
                tx.record_put(RecordTable::Chats, b"key-a", b"chat")?;
                assert_eq!(
                    &tx.record_get(RecordTable::Contacts, b"key-a")?.unwrap()[..],
                    b"Alice"
                );
                assert_eq!(tx.record_scan(RecordTable::Chats)?.len(), 1);
                assert!(tx.record_delete(RecordTable::Chats, b"key-a")?);
                assert!(tx.record_get(RecordTable::Chats, b"key-a")?.is_none());
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn messages_paging_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        store
            .transaction(|tx| {
                for i in 0u32..25 {
                    let id = i.to_be_bytes();
                    let chat: &[u8] = if i % 2 == 0 { b"even" } else { b"odd" };
                    assert!(
                        tx.message_insert(chat, &id, format!("m{i}").as_bytes())?
                            .is_some()
                    );
                }
                assert!(
                    tx.message_insert(b"even", &0u32.to_be_bytes(), b"dup")?
                        .is_none()
                );
                assert_eq!(tx.message_count(b"even")?, 13);
                let page1 = tx.messages_page(b"even", None, 5)?;
                let bodies: Vec<_> = page1.iter().map(|m| m.body.to_vec()).collect();
                assert_eq!(
                    bodies,
                    [
                        b"m24".to_vec(),
                        b"m22".to_vec(),
                        b"m20".to_vec(),
                        b"m18".to_vec(),
                        b"m16".to_vec()
                    ]
                );
                let page2 = tx.messages_page(b"even", page1.last().map(|m| m.seq), 100)?;
                assert_eq!(page2.len(), 8);
                assert_eq!(&page2.last().unwrap().body[..], b"m0");
                assert!(tx.message_update(&4u32.to_be_bytes(), b"edited")?);
                assert_eq!(
                    &tx.message_get(&4u32.to_be_bytes())?.unwrap().body[..],
                    b"edited"
                );
                assert!(!tx.message_update(b"nope", b"x")?);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn outbox_and_seen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        store
            .transaction(|tx| {
                let a = tx.outbox_push(b"first")?;
                let b = tx.outbox_push(b"second")?;
                assert!(a < b);
                assert!(tx.outbox_remove(a)?);
                let c = tx.outbox_push(b"third")?;
                assert!(c > b);
                let pending: Vec<_> = tx
                    .outbox_pending()?
                    .iter()
                    .map(|m| m.body.to_vec())
                    .collect();
                assert_eq!(pending, [b"second".to_vec(), b"third".to_vec()]);
                assert!(tx.seen_insert(b"h1", 100)?);
                assert!(!tx.seen_insert(b"h1", 101)?);
                assert!(tx.seen_contains(b"h1")?);
                assert!(tx.seen_insert(b"h2", 200)?);
                assert_eq!(tx.seen_prune(150)?, 1);
                assert!(!tx.seen_contains(b"h1")?);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        // Outbox sequence numbers are never reused, even after the newest was removed.
        store
            .transaction(|tx| {
                for m in tx.outbox_pending()? {
                    tx.outbox_remove(m.seq)?;
                }
                let d = tx.outbox_push(b"fourth")?;
                assert_eq!(d, Seq(4));
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        store
            .transaction(|tx| {
                tx.message_insert(b"c", b"id1", b"one")?;
                tx.message_insert(b"c", b"id2", b"two")?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        // Swap the two sealed bodies directly in SQLite: neither opens any more.
        store
            .conn
            .execute_batch(
                "UPDATE messages SET body = (SELECT body FROM messages WHERE seq = 2) WHERE seq = 1;",
            )
            .unwrap();
        let err = store
            .transaction(|tx| tx.messages_page(b"c", None, 10))
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { table: "messages" }));
    }

    #[test]
    fn plaintext_never_reaches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(dir.path());
        let marker = b"SECRET-MARKER-0123456789";
        store
            .transaction(|tx| {
                tx.message_insert(b"CHAT-MARKER-xyz", b"ID-MARKER-abc", marker)?;
                tx.kv_put("ns", b"KEY-MARKER-def", marker)?;
                tx.record_put(RecordTable::Contacts, b"CONTACT-MARKER", marker)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        store.checkpoint().unwrap();
        drop(store);
        let mut bytes = std::fs::read(dir.path().join("a.db")).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("a.db-wal")) {
            bytes.extend(wal);
        }
        for needle in [
            &marker[..],
            b"CHAT-MARKER",
            b"ID-MARKER",
            b"KEY-MARKER",
            b"CONTACT-MARKER",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} found in the file",
                String::from_utf8_lossy(needle)
            );
        }
    }
}
