//! Versioned schema migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`. Migration `i` (0-based) takes a
//! database from version `i` to `i + 1`; each runs in its own transaction together with
//! the version bump, so a crash leaves the database at a whole version. A database whose
//! version is newer than this program knows is refused rather than touched.
//!
//! What is in the clear (see the crate docs, "Storage"): table and column names, row
//! counts, value sizes, the insertion order of messages (`seq`) and, in `meta`, the KDF
//! parameters, salt and wrapped key. Every lookup key is a 32-byte HMAC ("blinded"), every
//! value an AES-256-GCM box bound to its table and row.

use rusqlite::Connection;

/// The migrations, oldest first. Never edit a released entry: append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial layout.
    "
    -- Clear-text parameters needed before the key is known: KDF parameters, salt and the
    -- wrapped database key.
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- Generic key/value store for the layers' state (sessions, installations, chat
    -- protocol state): ns is a namespace chosen by the facade, key is blinded, value sealed.
    CREATE TABLE kv (
        ns    TEXT NOT NULL,
        key   BLOB NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;

    -- Contacts, keyed by the blinded public key.
    CREATE TABLE contacts (
        key   BLOB PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- Chats (1:1 and groups), keyed by the blinded chat id.
    CREATE TABLE chats (
        key   BLOB PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- Messages of every chat, in insertion order; chat and msg_id are blinded.
    CREATE TABLE messages (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        chat   BLOB NOT NULL,
        msg_id BLOB NOT NULL UNIQUE,
        body   BLOB NOT NULL
    );
    CREATE INDEX messages_by_chat ON messages (chat, seq);

    -- Waku messages produced by a state change and not yet handed to the network. Written
    -- in the same transaction as the state change; deleted once published.
    CREATE TABLE outbox (
        seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        body BLOB NOT NULL
    );

    -- Blinded hashes of Waku messages already processed, to drop duplicates (relay and
    -- store can both deliver a message). `at` is the processing time in seconds, for
    -- pruning.
    CREATE TABLE seen (
        hash BLOB PRIMARY KEY NOT NULL,
        at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_by_time ON seen (at);
    ",
];

/// The schema version this program writes.
pub(crate) const LATEST: u32 = MIGRATIONS.len() as u32;

/// Why migrating failed.
#[derive(Debug)]
pub(crate) enum MigrateError {
    /// The database was written by a newer program.
    TooNew(u32),
    /// SQLite failed.
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// The schema version of `conn`.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings `conn` to version `target` (at most [`LATEST`]); returns the version found.
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, MigrateError> {
    let found = version(conn)?;
    if found > LATEST {
        return Err(MigrateError::TooNew(found));
    }
    let mut current = found;
    while current < target.min(LATEST) {
        let Some(sql) = MIGRATIONS.get(current as usize) else {
            break;
        };
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
        tracing::debug!(from = current, to = current + 1, "schema migrated");
        current += 1;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn upgrade_from_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        std::fs::write(&path, b"").unwrap();
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(version(&conn).unwrap(), 0);
        assert_eq!(migrate_to(&mut conn, LATEST).unwrap(), 0);
        assert_eq!(version(&conn).unwrap(), LATEST);
        let names = tables(&conn);
        for t in [
            "chats", "contacts", "kv", "messages", "meta", "outbox", "seen",
        ] {
            assert!(names.iter().any(|n| n == t), "missing {t} in {names:?}");
        }
        // Idempotent.
        assert_eq!(migrate_to(&mut conn, LATEST).unwrap(), LATEST);
        assert_eq!(version(&conn).unwrap(), LATEST);
    }

    #[test]
    fn step_by_step_equals_all_at_once() {
        let mut a = Connection::open_in_memory().unwrap();
        for v in 1..=LATEST {
            migrate_to(&mut a, v).unwrap();
            assert_eq!(version(&a).unwrap(), v);
        }
        let mut b = Connection::open_in_memory().unwrap();
        migrate_to(&mut b, LATEST).unwrap();
        let schema = |c: &Connection| -> Vec<String> {
            let mut s = c
                .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
                .unwrap();
            s.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(schema(&a), schema(&b));
    }

    #[test]
    fn refuses_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert!(matches!(
            migrate_to(&mut conn, LATEST),
            Err(MigrateError::TooNew(v)) if v == LATEST + 1
        ));
    }
}
