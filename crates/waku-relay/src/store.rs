//! 13/WAKU2-STORE v3 (`/vac/waku/store-query/3.0.0`): query types, the wire
//! codec and an SQLite-backed [`Archive`] that answers queries.

use futures::{AsyncRead, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value};
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::codec::{read_frame, write_frame};
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, MessageHash, WakuMessage};
use crate::proto::waku::store::v3 as pb;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/store-query/3.0.0");

/// Largest page a server returns, whatever the client asks.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest request frame, in bytes.
pub const MAX_REQUEST_FRAME: usize = 64 * 1024;
/// Largest response frame, in bytes (a full page of maximal messages fits).
pub const MAX_RESPONSE_FRAME: usize = (MAX_PAGE_SIZE as usize) * (DEFAULT_MAX_MESSAGE_SIZE + 1024);
/// Most content topics or message hashes in one request.
pub const MAX_QUERY_ITEMS: usize = 100;

/// Status code of a successful query.
pub const STATUS_OK: u32 = 200;
/// Status code of an invalid query.
pub const STATUS_BAD_REQUEST: u32 = 400;
/// Status code of a server failure.
pub const STATUS_INTERNAL_ERROR: u32 = 500;

/// Why a store message or query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Not the protobuf.
    #[error("malformed store message")]
    Malformed,
    /// A hash or cursor that is not 32 bytes.
    #[error("message hash is not 32 bytes")]
    BadHash,
    /// Both content filters and hashes, or only one of pubsub/content topics.
    #[error("invalid combination of filters")]
    InvalidFilter,
    /// Too many topics or hashes.
    #[error("too many items in query")]
    TooManyItems,
    /// An entry carries a message without its pubsub topic or the message is invalid.
    #[error("invalid entry")]
    InvalidEntry,
    /// The archive failed.
    #[error("archive error: {0}")]
    Archive(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Archive(e.to_string())
    }
}

/// A store v3 query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreQuery {
    /// Unique request id.
    pub request_id: String,
    /// Return messages, not only hashes.
    pub include_data: bool,
    /// Pubsub topic filter (must be set together with `content_topics`).
    pub pubsub_topic: Option<String>,
    /// Content topic filter.
    pub content_topics: Vec<String>,
    /// Inclusive lower time bound, Unix ns.
    pub time_start: Option<i64>,
    /// Exclusive upper time bound, Unix ns.
    pub time_end: Option<i64>,
    /// Lookup by hash (excludes the content filters).
    pub message_hashes: Vec<MessageHash>,
    /// Exclusive cursor from a previous page.
    pub cursor: Option<MessageHash>,
    /// Forward (oldest first) or backward paging.
    pub forward: bool,
    /// Requested page size.
    pub limit: Option<u64>,
}

impl StoreQuery {
    /// Encodes as the wire protobuf.
    pub fn encode(&self) -> Vec<u8> {
        pb::StoreQueryRequest {
            request_id: self.request_id.clone(),
            include_data: self.include_data,
            pubsub_topic: self.pubsub_topic.clone(),
            content_topics: self.content_topics.clone(),
            time_start: self.time_start,
            time_end: self.time_end,
            message_hashes: self.message_hashes.iter().map(|h| h.0.to_vec()).collect(),
            pagination_cursor: self.cursor.map(|h| h.0.to_vec()),
            pagination_forward: self.forward,
            pagination_limit: self.limit,
        }
        .encode_to_vec()
    }

    /// Decodes and checks a request body.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let raw = pb::StoreQueryRequest::decode(bytes).map_err(|_| StoreError::Malformed)?;
        if raw.content_topics.len() > MAX_QUERY_ITEMS || raw.message_hashes.len() > MAX_QUERY_ITEMS
        {
            return Err(StoreError::TooManyItems);
        }
        let hashes = raw
            .message_hashes
            .iter()
            .map(|h| MessageHash::try_from(h.as_slice()).map_err(|_| StoreError::BadHash))
            .collect::<Result<Vec<_>, _>>()?;
        let cursor = raw
            .pagination_cursor
            .as_deref()
            .map(|c| MessageHash::try_from(c).map_err(|_| StoreError::BadHash))
            .transpose()?;
        Ok(Self {
            request_id: raw.request_id,
            include_data: raw.include_data,
            pubsub_topic: raw.pubsub_topic,
            content_topics: raw.content_topics,
            time_start: raw.time_start,
            time_end: raw.time_end,
            message_hashes: hashes,
            cursor,
            forward: raw.pagination_forward,
            limit: raw.pagination_limit,
        })
    }

    /// Checks the filter rules of 13: content filters and hashes exclude each
    /// other; pubsub topic and content topics come together.
    pub fn check(&self) -> Result<(), StoreError> {
        let content = self.pubsub_topic.is_some()
            || !self.content_topics.is_empty()
            || self.time_start.is_some()
            || self.time_end.is_some();
        if content && !self.message_hashes.is_empty() {
            return Err(StoreError::InvalidFilter);
        }
        if self.pubsub_topic.is_some() == self.content_topics.is_empty() {
            return Err(StoreError::InvalidFilter);
        }
        Ok(())
    }
}

/// One entry of a store response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The message hash (the key).
    pub hash: MessageHash,
    /// Pubsub topic and message, when the query asked for data.
    pub data: Option<(String, WakuMessage)>,
}

/// A store v3 response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreResponse {
    /// The request id it answers.
    pub request_id: String,
    /// Status code (2xx success).
    pub status_code: u32,
    /// Status description.
    pub status_desc: String,
    /// Entries in forward order.
    pub messages: Vec<StoredMessage>,
    /// Cursor for the next page, if there is one.
    pub cursor: Option<MessageHash>,
}

impl StoreResponse {
    fn error(request_id: String, code: u32, desc: &str) -> Self {
        Self {
            request_id,
            status_code: code,
            status_desc: desc.to_owned(),
            messages: Vec::new(),
            cursor: None,
        }
    }

    /// Encodes as the wire protobuf.
    pub fn encode(&self) -> Vec<u8> {
        pb::StoreQueryResponse {
            request_id: self.request_id.clone(),
            status_code: Some(self.status_code),
            status_desc: Some(self.status_desc.clone()),
            messages: self
                .messages
                .iter()
                .map(|m| pb::WakuMessageKeyValue {
                    message_hash: Some(m.hash.0.to_vec()),
                    message: m.data.as_ref().map(|(_, msg)| msg.to_proto()),
                    pubsub_topic: m.data.as_ref().map(|(t, _)| t.clone()),
                })
                .collect(),
            pagination_cursor: self.cursor.map(|h| h.0.to_vec()),
        }
        .encode_to_vec()
    }

    /// Decodes and checks a response body.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let raw = pb::StoreQueryResponse::decode(bytes).map_err(|_| StoreError::Malformed)?;
        let mut messages = Vec::with_capacity(raw.messages.len());
        for kv in raw.messages {
            let hash = kv
                .message_hash
                .as_deref()
                .ok_or(StoreError::BadHash)
                .and_then(|h| MessageHash::try_from(h).map_err(|_| StoreError::BadHash))?;
            let data = match (kv.pubsub_topic, kv.message) {
                (None, None) => None,
                (Some(t), Some(m)) => Some((
                    t,
                    WakuMessage::try_from(m).map_err(|_| StoreError::InvalidEntry)?,
                )),
                _ => return Err(StoreError::InvalidEntry),
            };
            messages.push(StoredMessage { hash, data });
        }
        let cursor = raw
            .pagination_cursor
            .as_deref()
            .map(|c| MessageHash::try_from(c).map_err(|_| StoreError::BadHash))
            .transpose()?;
        Ok(Self {
            request_id: raw.request_id,
            status_code: raw.status_code.unwrap_or(0),
            status_desc: raw.status_desc.unwrap_or_default(),
            messages,
            cursor,
        })
    }
}

/// Retention of an [`Archive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Most messages kept; the oldest (by timestamp) go first.
    pub max_messages: u64,
    /// Messages whose timestamp is older than this are removed, if set.
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_messages: 100_000,
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// Why a message was not archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveOutcome {
    /// Stored.
    Stored,
    /// Already present.
    Duplicate,
    /// Ephemeral messages are not stored (13).
    Ephemeral,
    /// Messages without a timestamp are not eligible (13).
    NoTimestamp,
}

/// A message archive in SQLite, keyed by message hash, ordered by
/// `(timestamp, hash)` as 13 requires.
pub struct Archive {
    conn: Connection,
    retention: Retention,
    count: u64,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("retention", &self.retention)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Opens (or creates) an archive file.
    pub fn open(path: &Path, retention: Retention) -> Result<Self, StoreError> {
        Self::with_connection(Connection::open(path)?, retention)
    }

    /// An archive in memory (lost on drop).
    pub fn in_memory(retention: Retention) -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory()?, retention)
    }

    fn with_connection(conn: Connection, retention: Retention) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS messages (
                 hash BLOB PRIMARY KEY NOT NULL,
                 pubsub_topic TEXT NOT NULL,
                 content_topic TEXT NOT NULL,
                 timestamp INTEGER NOT NULL,
                 message BLOB NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS messages_order ON messages (timestamp, hash);
             CREATE INDEX IF NOT EXISTS messages_topic ON messages (pubsub_topic, content_topic, timestamp);",
        )?;
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
        Ok(Self {
            conn,
            retention,
            count: u64::try_from(count).unwrap_or(0),
        })
    }

    /// Number of stored messages.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the archive is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Stores `msg` received on `pubsub_topic`, then applies retention at `now_ns`.
    pub fn insert(
        &mut self,
        pubsub_topic: &str,
        msg: &WakuMessage,
        now_ns: i64,
    ) -> Result<ArchiveOutcome, StoreError> {
        if msg.ephemeral() {
            return Ok(ArchiveOutcome::Ephemeral);
        }
        let Some(ts) = msg.timestamp() else {
            return Ok(ArchiveOutcome::NoTimestamp);
        };
        let hash = msg.hash(pubsub_topic);
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO messages (hash, pubsub_topic, content_topic, timestamp, message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                &hash.0[..],
                pubsub_topic,
                msg.content_topic(),
                ts,
                msg.encode()
            ],
        )?;
        if n == 0 {
            return Ok(ArchiveOutcome::Duplicate);
        }
        self.count += 1;
        self.apply_retention(now_ns)?;
        Ok(ArchiveOutcome::Stored)
    }

    /// Removes what the retention policy no longer allows at `now_ns`.
    pub fn apply_retention(&mut self, now_ns: i64) -> Result<(), StoreError> {
        let mut removed = 0usize;
        if let Some(age) = self.retention.max_age {
            let cutoff = now_ns.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX));
            removed += self
                .conn
                .execute("DELETE FROM messages WHERE timestamp < ?1", [cutoff])?;
        }
        let over = self
            .count
            .saturating_sub(removed as u64)
            .saturating_sub(self.retention.max_messages);
        if over > 0 {
            removed += self.conn.execute(
                "DELETE FROM messages WHERE hash IN
                   (SELECT hash FROM messages ORDER BY timestamp ASC, hash ASC LIMIT ?1)",
                [i64::try_from(over).unwrap_or(i64::MAX)],
            )?;
        }
        self.count = self.count.saturating_sub(removed as u64);
        Ok(())
    }

    /// Answers a query (never fails: errors become status codes).
    pub fn query(&self, q: &StoreQuery) -> StoreResponse {
        if q.check().is_err() {
            return StoreResponse::error(
                q.request_id.clone(),
                STATUS_BAD_REQUEST,
                "invalid filter",
            );
        }
        match self.run_query(q) {
            Ok(Some(r)) => r,
            Ok(None) => {
                StoreResponse::error(q.request_id.clone(), STATUS_BAD_REQUEST, "unknown cursor")
            }
            Err(e) => {
                tracing::warn!(error = %e, "store query failed");
                StoreResponse::error(q.request_id.clone(), STATUS_INTERNAL_ERROR, "archive error")
            }
        }
    }

    fn run_query(&self, q: &StoreQuery) -> Result<Option<StoreResponse>, StoreError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(t) = &q.pubsub_topic {
            clauses.push("pubsub_topic = ?".into());
            args.push(Value::Text(t.clone()));
            let marks = vec!["?"; q.content_topics.len()].join(",");
            clauses.push(format!("content_topic IN ({marks})"));
            args.extend(q.content_topics.iter().cloned().map(Value::Text));
        }
        if let Some(s) = q.time_start {
            clauses.push("timestamp >= ?".into());
            args.push(Value::Integer(s));
        }
        if let Some(e) = q.time_end {
            clauses.push("timestamp < ?".into());
            args.push(Value::Integer(e));
        }
        if !q.message_hashes.is_empty() {
            let marks = vec!["?"; q.message_hashes.len()].join(",");
            clauses.push(format!("hash IN ({marks})"));
            args.extend(q.message_hashes.iter().map(|h| Value::Blob(h.0.to_vec())));
        }
        if let Some(cursor) = q.cursor {
            let ts: Option<i64> = self
                .conn
                .query_row(
                    "SELECT timestamp FROM messages WHERE hash = ?1",
                    [&cursor.0[..]],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(ts) = ts else {
                return Ok(None);
            };
            let op = if q.forward { ">" } else { "<" };
            clauses.push(format!("(timestamp, hash) {op} (?, ?)"));
            args.push(Value::Integer(ts));
            args.push(Value::Blob(cursor.0.to_vec()));
        }
        let limit = q.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let order = if q.forward { "ASC" } else { "DESC" };
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT hash, pubsub_topic, message FROM messages {filter}
             ORDER BY timestamp {order}, hash {order} LIMIT {}",
            limit + 1
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, topic, bytes) = row?;
            let hash = MessageHash::try_from(hash.as_slice()).map_err(|_| StoreError::BadHash)?;
            let data = if q.include_data {
                let msg = WakuMessage::decode(&bytes, usize::MAX)
                    .map_err(|_| StoreError::InvalidEntry)?;
                Some((topic, msg))
            } else {
                None
            };
            out.push(StoredMessage { hash, data });
        }
        let more = out.len() as u64 > limit;
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        // The cursor is the last entry included in traversal order.
        let cursor = if more {
            out.last().map(|m| m.hash)
        } else {
            None
        };
        if !q.forward {
            out.reverse();
        }
        Ok(Some(StoreResponse {
            request_id: q.request_id.clone(),
            status_code: STATUS_OK,
            status_desc: "OK".into(),
            messages: out,
            cursor,
        }))
    }
}

/// The request/response codec of store v3.
#[derive(Debug, Clone, Default)]
pub struct StoreCodec;

fn invalid(e: StoreError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl libp2p::request_response::Codec for StoreCodec {
    type Protocol = StreamProtocol;
    type Request = StoreQuery;
    type Response = StoreResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<StoreQuery>
    where
        T: AsyncRead + Unpin + Send,
    {
        StoreQuery::decode(&read_frame(io, MAX_REQUEST_FRAME).await?).map_err(invalid)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<StoreResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        StoreResponse::decode(&read_frame(io, MAX_RESPONSE_FRAME).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: StoreQuery,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.encode()).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: StoreResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.encode()).await?;
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: &str = "/waku/2/rs/16/32";
    const NOW: i64 = 1_700_000_000_000_000_000;

    fn msg(ct: &str, i: i64) -> WakuMessage {
        WakuMessage::new(ct, format!("m{i}").into_bytes())
            .unwrap()
            .with_timestamp(NOW + i)
    }

    fn archive(n: i64) -> Archive {
        let mut a = Archive::in_memory(Retention {
            max_messages: 1000,
            max_age: None,
        })
        .unwrap();
        for i in 0..n {
            let ct = if i % 2 == 0 {
                "/a/1/even/proto"
            } else {
                "/a/1/odd/proto"
            };
            assert_eq!(
                a.insert(T, &msg(ct, i), NOW).unwrap(),
                ArchiveOutcome::Stored
            );
        }
        a
    }

    fn payloads(r: &StoreResponse) -> Vec<String> {
        r.messages
            .iter()
            .map(|m| String::from_utf8(m.data.as_ref().unwrap().1.payload().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn forward_paging_visits_everything_once() {
        let a = archive(25);
        let mut q = StoreQuery {
            request_id: "r".into(),
            include_data: true,
            forward: true,
            limit: Some(10),
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let r = a.query(&q);
            assert_eq!(r.status_code, STATUS_OK);
            seen.extend(payloads(&r));
            match r.cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        let want: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn backward_paging_pages_are_forward_ordered() {
        let a = archive(25);
        let mut q = StoreQuery {
            request_id: "r".into(),
            include_data: true,
            forward: false,
            limit: Some(10),
            ..Default::default()
        };
        let r = a.query(&q);
        assert_eq!(
            payloads(&r),
            (15..25).map(|i| format!("m{i}")).collect::<Vec<_>>()
        );
        q.cursor = r.cursor;
        let r = a.query(&q);
        assert_eq!(
            payloads(&r),
            (5..15).map(|i| format!("m{i}")).collect::<Vec<_>>()
        );
        q.cursor = r.cursor;
        let r = a.query(&q);
        assert_eq!(
            payloads(&r),
            (0..5).map(|i| format!("m{i}")).collect::<Vec<_>>()
        );
        assert_eq!(r.cursor, None);
    }

    #[test]
    fn filters() {
        let a = archive(20);
        let q = StoreQuery {
            request_id: "r".into(),
            include_data: true,
            forward: true,
            pubsub_topic: Some(T.into()),
            content_topics: vec!["/a/1/odd/proto".into()],
            time_start: Some(NOW + 4),
            time_end: Some(NOW + 11),
            limit: Some(100),
            ..Default::default()
        };
        let r = a.query(&q);
        assert_eq!(payloads(&r), vec!["m5", "m7", "m9"]);
        // Hash lookup, without data.
        let h = msg("/a/1/even/proto", 2).hash(T);
        let missing = msg("/a/1/even/proto", 99).hash(T);
        let q = StoreQuery {
            request_id: "r".into(),
            message_hashes: vec![h, missing],
            ..Default::default()
        };
        let r = a.query(&q);
        assert_eq!(
            r.messages,
            vec![StoredMessage {
                hash: h,
                data: None
            }]
        );
    }

    #[test]
    fn invalid_queries() {
        let a = archive(3);
        let q = StoreQuery {
            pubsub_topic: Some(T.into()),
            ..Default::default()
        };
        assert_eq!(a.query(&q).status_code, STATUS_BAD_REQUEST);
        let q = StoreQuery {
            time_start: Some(1),
            message_hashes: vec![MessageHash([0; 32])],
            ..Default::default()
        };
        assert_eq!(a.query(&q).status_code, STATUS_BAD_REQUEST);
        let q = StoreQuery {
            cursor: Some(MessageHash([7; 32])),
            ..Default::default()
        };
        assert_eq!(a.query(&q).status_code, STATUS_BAD_REQUEST);
    }

    #[test]
    fn retention_and_eligibility() {
        let mut a = Archive::in_memory(Retention {
            max_messages: 5,
            max_age: Some(Duration::from_secs(10)),
        })
        .unwrap();
        for i in 0..8 {
            a.insert(T, &msg("/a/1/x/proto", i), NOW).unwrap();
        }
        assert_eq!(a.len(), 5);
        assert_eq!(
            a.insert(T, &msg("/a/1/x/proto", 7), NOW).unwrap(),
            ArchiveOutcome::Duplicate
        );
        let eph = msg("/a/1/x/proto", 100).with_ephemeral(true);
        assert_eq!(a.insert(T, &eph, NOW).unwrap(), ArchiveOutcome::Ephemeral);
        let nots = WakuMessage::new("/a/1/x/proto", b"x".to_vec()).unwrap();
        assert_eq!(
            a.insert(T, &nots, NOW).unwrap(),
            ArchiveOutcome::NoTimestamp
        );
        // Oldest (m0..m2) went first.
        let r = a.query(&StoreQuery {
            include_data: true,
            forward: true,
            ..Default::default()
        });
        assert_eq!(payloads(&r), vec!["m3", "m4", "m5", "m6", "m7"]);
        // Age: 11 s later everything is too old.
        a.apply_retention(NOW + 11_000_000_000 + 8).unwrap();
        assert!(a.is_empty());
    }

    #[test]
    fn archive_file_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        {
            let mut a = Archive::open(&path, Retention::default()).unwrap();
            a.insert(T, &msg("/a/1/x/proto", 1), NOW).unwrap();
        }
        let a = Archive::open(&path, Retention::default()).unwrap();
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn wire_roundtrip() {
        let a = archive(3);
        let q = StoreQuery {
            request_id: "abc".into(),
            include_data: true,
            forward: true,
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(StoreQuery::decode(&q.encode()), Ok(q.clone()));
        let r = a.query(&q);
        assert_eq!(StoreResponse::decode(&r.encode()), Ok(r));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn paging_visits_each_entry_once_in_order(
            stamps in proptest::collection::vec(0i64..20, 1..40),
            limit in 1u64..12,
            forward in any::<bool>(),
        ) {
            let mut a = Archive::in_memory(Retention { max_messages: 1000, max_age: None }).unwrap();
            let mut want = Vec::new();
            for (i, ts) in stamps.iter().enumerate() {
                let m = WakuMessage::new("/a/1/x/proto", format!("m{i}").into_bytes())
                    .unwrap()
                    .with_timestamp(NOW + ts);
                a.insert(T, &m, NOW).unwrap();
                want.push((NOW + ts, m.hash(T)));
            }
            want.sort();
            let mut q = StoreQuery { forward, limit: Some(limit), ..Default::default() };
            let mut pages: Vec<Vec<MessageHash>> = Vec::new();
            loop {
                let r = a.query(&q);
                prop_assert_eq!(r.status_code, STATUS_OK);
                prop_assert!(r.messages.len() as u64 <= limit);
                pages.push(r.messages.iter().map(|m| m.hash).collect());
                match r.cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
            if !forward {
                pages.reverse();
            }
            let got: Vec<MessageHash> = pages.into_iter().flatten().collect();
            let want: Vec<MessageHash> = want.into_iter().map(|(_, h)| h).collect();
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = StoreQuery::decode(&bytes);
            let _ = StoreResponse::decode(&bytes);
        }
    }
}
