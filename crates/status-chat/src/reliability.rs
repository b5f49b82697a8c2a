//! Reliable delivery after 2/MVDS, batch mode, as a sans-IO state machine.
//!
//! Every non-ephemeral application message is wrapped in an MVDS `Message` and sent in a
//! `Payload` (field numbers 5001–5004 and 6001–6003 of status-mvds-usage). The receiver
//! acknowledges every message it gets, duplicates included (an ack may have been lost);
//! the sender keeps the message in its outbox and sends it again with exponential backoff
//! (30 s, doubling, capped) until it is acknowledged, and after
//! [`ReliabilityConfig::max_attempts`] sends gives up and reports it failed. Offers and
//! requests (interactive mode) are decoded and ignored: batch mode needs neither.
//!
//! Time is injected (`now_ms`, unix milliseconds); nothing here reads a clock. Every
//! peer-growable collection has a cap in [`ReliabilityConfig`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use prost::Message as _;
use sha2::{Digest, Sha256};
use status_identity::IdentityPublicKey;

use crate::ids::MessageId;
use crate::proto::mvds as pb;

/// Largest encoded MVDS payload accepted from a peer.
pub const MAX_MVDS_PAYLOAD_BYTES: usize = 140 * 1024;

/// Tunables and caps of the reliability layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReliabilityConfig {
    /// Wait before the first retransmission (30 s).
    pub initial_backoff_ms: u64,
    /// Upper bound of the doubling wait (10 min).
    pub max_backoff_ms: u64,
    /// Sends (first one included) before a message is reported failed (10).
    pub max_attempts: u32,
    /// Most unacknowledged messages per peer (1024); sending more is refused.
    pub max_outstanding_per_peer: usize,
    /// Most acks waiting to be sent per peer (1024); the oldest are dropped (the peer
    /// retransmits and gets a new ack).
    pub max_pending_acks_per_peer: usize,
    /// Most messages and acks read from one incoming payload (256 each); the rest is
    /// ignored (and so retransmitted by the peer).
    pub max_records_per_payload: usize,
    /// Budget for message bodies in one outgoing payload (100 KiB; at least one message
    /// is always sent).
    pub max_payload_body_bytes: usize,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        ReliabilityConfig {
            initial_backoff_ms: 30_000,
            max_backoff_ms: 600_000,
            max_attempts: 10,
            max_outstanding_per_peer: 1024,
            max_pending_acks_per_peer: 1024,
            max_records_per_payload: 256,
            max_payload_body_bytes: 100 * 1024,
        }
    }
}

impl ReliabilityConfig {
    /// The wait after the `send_count`-th send: `initial * 2^(send_count - 1)`, capped.
    pub fn backoff_ms(&self, send_count: u32) -> u64 {
        let shift = send_count.saturating_sub(1).min(32);
        self.initial_backoff_ms
            .saturating_mul(1u64 << shift)
            .min(self.max_backoff_ms)
    }
}

/// An MVDS message id: SHA-256(`"MESSAGE_ID"` || group_id || LE64(timestamp) || body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MvdsId(pub [u8; 32]);

impl MvdsId {
    /// Computes the id of a message.
    pub fn compute(group_id: &[u8], timestamp: i64, body: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"MESSAGE_ID");
        h.update(group_id);
        h.update(timestamp.to_le_bytes());
        h.update(body);
        MvdsId(h.finalize().into())
    }
}

/// The MVDS group id of a 1:1 chat: SHA-256 of the two 32-byte keys in byte order
/// (status-go: Keccak-256 of the compressed secp256k1 keys ordered by X).
pub fn one_to_one_group_id(a: &IdentityPublicKey, b: &IdentityPublicKey) -> [u8; 32] {
    let (lo, hi) = if a.as_bytes() <= b.as_bytes() {
        (a, b)
    } else {
        (b, a)
    };
    let mut h = Sha256::new();
    h.update(lo.as_bytes());
    h.update(hi.as_bytes());
    h.finalize().into()
}

/// The MVDS group id of a private group chat: SHA-256 of its chat id string.
pub fn group_chat_group_id(chat_id: &str) -> [u8; 32] {
    Sha256::digest(chat_id.as_bytes()).into()
}

/// One MVDS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MvdsMessage {
    /// Synchronisation context.
    pub group_id: Vec<u8>,
    /// Sender's time, unix milliseconds.
    pub timestamp: i64,
    /// The encoded application wrapper.
    pub body: Vec<u8>,
}

impl MvdsMessage {
    /// Its id.
    pub fn id(&self) -> MvdsId {
        MvdsId::compute(&self.group_id, self.timestamp, &self.body)
    }
}

/// An MVDS `Payload` (batch mode: acks and messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MvdsPayload {
    /// Ids of messages the sender holds.
    pub acks: Vec<MvdsId>,
    /// Messages.
    pub messages: Vec<MvdsMessage>,
}

impl MvdsPayload {
    /// Encodes to protobuf.
    pub fn encode(&self) -> Vec<u8> {
        pb::Payload {
            acks: self.acks.iter().map(|a| a.0.to_vec()).collect(),
            messages: self
                .messages
                .iter()
                .map(|m| pb::Message {
                    group_id: m.group_id.clone(),
                    timestamp: m.timestamp,
                    body: m.body.clone(),
                })
                .collect(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// Decodes a payload. `None` when the bytes are not an MVDS payload: malformed,
    /// too large, or with no record at all (status-go accepts a payload only if one of
    /// its lists is non-empty). Acks that are not 32 bytes are skipped; at most
    /// `max_records` acks and messages are kept.
    pub fn decode(bytes: &[u8], max_records: usize) -> Option<Self> {
        if bytes.len() > MAX_MVDS_PAYLOAD_BYTES {
            return None;
        }
        let p = pb::Payload::decode(bytes).ok()?;
        if p.acks.is_empty()
            && p.messages.is_empty()
            && p.offers.is_empty()
            && p.requests.is_empty()
            && p.group_offers.is_empty()
        {
            return None;
        }
        Some(MvdsPayload {
            acks: p
                .acks
                .iter()
                .filter_map(|a| <[u8; 32]>::try_from(a.as_slice()).ok().map(MvdsId))
                .take(max_records)
                .collect(),
            messages: p
                .messages
                .into_iter()
                .take(max_records)
                .map(|m| MvdsMessage {
                    group_id: m.group_id,
                    timestamp: m.timestamp,
                    body: m.body,
                })
                .collect(),
        })
    }
}

/// A message waiting for its ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Recipient.
    pub peer: IdentityPublicKey,
    /// The MVDS message.
    pub message: MvdsMessage,
    /// Id of the application message inside.
    pub app_id: MessageId,
    /// Sends so far.
    pub send_count: u32,
    /// When it is due again, unix ms.
    pub next_send_ms: u64,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReliabilityError {
    /// The peer already has the maximum of unacknowledged messages.
    #[error("outbox for this peer is full ({0} messages)")]
    OutboxFull(usize),
}

/// What happened to a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// The peer acknowledged it.
    Acked {
        /// Recipient.
        peer: IdentityPublicKey,
        /// Application message id.
        app_id: MessageId,
    },
    /// It was sent `max_attempts` times without an ack: given up.
    Failed {
        /// Recipient.
        peer: IdentityPublicKey,
        /// Application message id.
        app_id: MessageId,
    },
}

/// A change of the outbox, to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    /// Insert or replace this entry.
    Put(OutboxEntry),
    /// Remove the entry for this peer and id.
    Remove(IdentityPublicKey, MvdsId),
}

/// The reliability state machine for all peers.
#[derive(Debug, Clone)]
pub struct Reliability {
    config: ReliabilityConfig,
    outbox: BTreeMap<(IdentityPublicKey, MvdsId), OutboxEntry>,
    acks: BTreeMap<IdentityPublicKey, VecDeque<MvdsId>>,
    dirty: BTreeSet<(IdentityPublicKey, MvdsId)>,
    events: Vec<DeliveryEvent>,
}

impl Reliability {
    /// An empty state.
    pub fn new(config: ReliabilityConfig) -> Self {
        Reliability {
            config,
            outbox: BTreeMap::new(),
            acks: BTreeMap::new(),
            dirty: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    /// Rebuilds the state from persisted outbox entries (acks waiting to be sent are not
    /// persisted: the peer retransmits and is acknowledged again).
    pub fn restore(
        config: ReliabilityConfig,
        entries: impl IntoIterator<Item = OutboxEntry>,
    ) -> Self {
        let mut r = Self::new(config);
        for e in entries {
            r.outbox.insert((e.peer, e.message.id()), e);
        }
        r
    }

    /// The configuration.
    pub fn config(&self) -> &ReliabilityConfig {
        &self.config
    }

    /// Queues `body` for `peer`; it goes out at the next [`Self::poll_transmit`].
    pub fn send(
        &mut self,
        peer: IdentityPublicKey,
        group_id: &[u8],
        body: Vec<u8>,
        app_id: MessageId,
        now_ms: u64,
    ) -> Result<MvdsId, ReliabilityError> {
        let outstanding = self
            .outbox
            .range((peer, MvdsId([0; 32]))..=(peer, MvdsId([0xff; 32])))
            .count();
        if outstanding >= self.config.max_outstanding_per_peer {
            return Err(ReliabilityError::OutboxFull(outstanding));
        }
        let message = MvdsMessage {
            group_id: group_id.to_vec(),
            timestamp: i64::try_from(now_ms).unwrap_or(i64::MAX),
            body,
        };
        let id = message.id();
        self.outbox.entry((peer, id)).or_insert(OutboxEntry {
            peer,
            message,
            app_id,
            send_count: 0,
            next_send_ms: now_ms,
        });
        self.dirty.insert((peer, id));
        Ok(id)
    }

    /// Handles a payload from `peer` (already authenticated by the session layer):
    /// removes acknowledged messages and returns the messages received, duplicates
    /// included. The layer above verifies each and calls [`Self::queue_ack`] for those it
    /// accepts (so a forged body is never acknowledged) and drops duplicates by
    /// application message id.
    pub fn receive(&mut self, peer: IdentityPublicKey, payload: MvdsPayload) -> Vec<MvdsMessage> {
        for ack in payload
            .acks
            .iter()
            .take(self.config.max_records_per_payload)
        {
            if let Some(e) = self.outbox.remove(&(peer, *ack)) {
                self.dirty.insert((peer, *ack));
                self.events.push(DeliveryEvent::Acked {
                    peer,
                    app_id: e.app_id,
                });
            }
        }
        payload
            .messages
            .into_iter()
            .take(self.config.max_records_per_payload)
            .collect()
    }

    /// Queues an ack of message `id` for `peer` (sent at the next
    /// [`Self::poll_transmit`]). At most `max_pending_acks_per_peer` wait; the oldest are
    /// dropped.
    pub fn queue_ack(&mut self, peer: IdentityPublicKey, id: MvdsId) {
        let q = self.acks.entry(peer).or_default();
        if !q.contains(&id) {
            q.push_back(id);
        }
        while q.len() > self.config.max_pending_acks_per_peer {
            q.pop_front();
        }
    }

    /// The payloads to send now, one per peer: pending acks plus every due message.
    /// A message sent for the `max_attempts`-th time is not sent again: when it falls due
    /// once more it is reported [`DeliveryEvent::Failed`] and dropped.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Vec<(IdentityPublicKey, MvdsPayload)> {
        let mut out: BTreeMap<IdentityPublicKey, (MvdsPayload, usize)> = BTreeMap::new();
        for (peer, q) in std::mem::take(&mut self.acks) {
            if !q.is_empty() {
                out.entry(peer).or_default().0.acks = q.into_iter().collect();
            }
        }
        let mut failed = Vec::new();
        for (key, e) in self.outbox.iter_mut() {
            if e.next_send_ms > now_ms {
                continue;
            }
            if e.send_count >= self.config.max_attempts {
                failed.push(*key);
                continue;
            }
            let (p, used) = out.entry(e.peer).or_default();
            if !p.messages.is_empty()
                && *used + e.message.body.len() > self.config.max_payload_body_bytes
            {
                continue;
            }
            *used += e.message.body.len();
            p.messages.push(e.message.clone());
            e.send_count += 1;
            e.next_send_ms = now_ms.saturating_add(self.config.backoff_ms(e.send_count));
            self.dirty.insert(*key);
        }
        for key in failed {
            if let Some(e) = self.outbox.remove(&key) {
                self.dirty.insert(key);
                self.events.push(DeliveryEvent::Failed {
                    peer: e.peer,
                    app_id: e.app_id,
                });
            }
        }
        out.into_iter().map(|(peer, (p, _))| (peer, p)).collect()
    }

    /// When [`Self::poll_transmit`] next has something to do (`None`: nothing pending).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.acks.values().any(|q| !q.is_empty()) {
            return Some(0);
        }
        self.outbox.values().map(|e| e.next_send_ms).min()
    }

    /// Delivery events since the last call.
    pub fn take_events(&mut self) -> Vec<DeliveryEvent> {
        std::mem::take(&mut self.events)
    }

    /// Outbox changes since the last call, to persist.
    pub fn take_changes(&mut self) -> Vec<OutboxChange> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|k| match self.outbox.get(&k) {
                Some(e) => OutboxChange::Put(e.clone()),
                None => OutboxChange::Remove(k.0, k.1),
            })
            .collect()
    }

    /// Unacknowledged messages.
    pub fn outbox(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.outbox.values()
    }

    /// Number of unacknowledged messages.
    pub fn outstanding(&self) -> usize {
        self.outbox.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use status_identity::IdentityKeyPair;

    fn peers() -> (IdentityPublicKey, IdentityPublicKey) {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (
            *IdentityKeyPair::generate(&mut rng).public_key(),
            *IdentityKeyPair::generate(&mut rng).public_key(),
        )
    }

    #[test]
    fn mvds_id_matches_definition() {
        let id = MvdsId::compute(b"g", 258, b"body");
        let mut h = Sha256::new();
        h.update(b"MESSAGE_IDg");
        h.update([2, 1, 0, 0, 0, 0, 0, 0]);
        h.update(b"body");
        assert_eq!(id.0, <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn payload_round_trip_and_non_mvds() {
        let p = MvdsPayload {
            acks: vec![MvdsId([1; 32])],
            messages: vec![MvdsMessage {
                group_id: vec![2; 32],
                timestamp: 7,
                body: b"hi".to_vec(),
            }],
        };
        assert_eq!(MvdsPayload::decode(&p.encode(), 256), Some(p));
        assert_eq!(
            MvdsPayload::decode(&MvdsPayload::default().encode(), 256),
            None
        );
        assert_eq!(MvdsPayload::decode(&[0xff], 256), None);
    }

    #[test]
    fn backoff_doubles_from_30s_and_caps() {
        let c = ReliabilityConfig::default();
        let waits: Vec<u64> = (1..=7).map(|n| c.backoff_ms(n) / 1000).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(c.backoff_ms(u32::MAX), 600_000);
    }

    #[test]
    fn ack_stops_retransmission() {
        let (a, b) = peers();
        let mut s = Reliability::new(ReliabilityConfig::default());
        let mut r = Reliability::new(ReliabilityConfig::default());
        s.send(b, b"g", b"one".to_vec(), MessageId([1; 32]), 0)
            .unwrap();
        let out = s.poll_transmit(0);
        assert_eq!(out.len(), 1);
        assert!(s.poll_transmit(29_999).is_empty());
        // Lost: sent again at 30 s, then 60 s later.
        assert_eq!(s.poll_transmit(30_000)[0].1.messages.len(), 1);
        assert!(s.poll_transmit(89_999).is_empty());
        let again = s.poll_transmit(90_000);
        let got = r.receive(a, again[0].1.clone());
        assert_eq!(got.len(), 1);
        r.queue_ack(a, got[0].id());
        let ack = r.poll_transmit(90_001);
        assert_eq!(ack[0].1.acks.len(), 1);
        assert!(s.receive(b, ack[0].1.clone()).is_empty());
        assert_eq!(
            s.take_events(),
            vec![DeliveryEvent::Acked {
                peer: b,
                app_id: MessageId([1; 32])
            }]
        );
        assert_eq!(s.outstanding(), 0);
        assert!(s.poll_transmit(10_000_000).is_empty());
        assert_eq!(s.poll_timeout(), None);
        assert!(matches!(s.take_changes()[..], [OutboxChange::Remove(..)]));
    }

    #[test]
    fn never_acked_fails_after_max_attempts() {
        let (_, b) = peers();
        let cfg = ReliabilityConfig::default();
        let mut s = Reliability::new(cfg);
        s.send(b, b"g", b"x".to_vec(), MessageId([3; 32]), 0)
            .unwrap();
        let mut sends = 0;
        let mut now = 0;
        while let Some(t) = s.poll_timeout() {
            now = t.max(now);
            sends += s.poll_transmit(now).len();
        }
        assert_eq!(sends, cfg.max_attempts as usize);
        assert_eq!(
            s.take_events(),
            vec![DeliveryEvent::Failed {
                peer: b,
                app_id: MessageId([3; 32])
            }]
        );
    }

    #[test]
    fn duplicates_are_acked_again_and_caps_hold() {
        let (a, b) = peers();
        let cfg = ReliabilityConfig {
            max_outstanding_per_peer: 2,
            max_pending_acks_per_peer: 3,
            ..Default::default()
        };
        let mut s = Reliability::new(cfg);
        s.send(b, b"g", b"1".to_vec(), MessageId([1; 32]), 0)
            .unwrap();
        s.send(b, b"g", b"2".to_vec(), MessageId([2; 32]), 0)
            .unwrap();
        assert_eq!(
            s.send(b, b"g", b"3".to_vec(), MessageId([3; 32]), 0),
            Err(ReliabilityError::OutboxFull(2))
        );
        let mut r = Reliability::new(cfg);
        let p = s.poll_transmit(0).remove(0).1;
        for m in r.receive(a, p.clone()).into_iter().chain(r.receive(a, p)) {
            r.queue_ack(a, m.id());
        }
        assert_eq!(r.poll_transmit(1)[0].1.acks.len(), 2);
        let many = MvdsPayload {
            acks: vec![],
            messages: (0..10)
                .map(|i| MvdsMessage {
                    group_id: vec![],
                    timestamp: i,
                    body: vec![],
                })
                .collect(),
        };
        for m in r.receive(a, many) {
            r.queue_ack(a, m.id());
        }
        assert_eq!(r.poll_transmit(2)[0].1.acks.len(), 3);
    }

    #[test]
    fn restore_continues_retransmission() {
        let (_, b) = peers();
        let mut s = Reliability::new(ReliabilityConfig::default());
        s.send(b, b"g", b"1".to_vec(), MessageId([1; 32]), 0)
            .unwrap();
        s.poll_transmit(0);
        let entries: Vec<_> = s.outbox().cloned().collect();
        let mut r = Reliability::restore(ReliabilityConfig::default(), entries);
        assert_eq!(r.poll_timeout(), Some(30_000));
        assert_eq!(r.poll_transmit(30_000).len(), 1);
    }
}
