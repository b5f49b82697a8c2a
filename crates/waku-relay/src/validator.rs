//! The relay validator: what a relay node accepts and forwards (sans-IO; the
//! caller passes the current time).

use std::time::Duration;

use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, MessageError, WakuMessage};

/// Default tolerated distance between a message timestamp and the local clock
/// (13/WAKU2-STORE and nwaku use 20 s).
pub const DEFAULT_TIMESTAMP_WINDOW: Duration = Duration::from_secs(20);

/// Why the relay rejected a message. Counted per reason in [`ValidatorStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// Not a `WakuMessage` protobuf.
    #[error("malformed")]
    Malformed,
    /// Empty content topic.
    #[error("empty content topic")]
    EmptyContentTopic,
    /// Empty payload.
    #[error("empty payload")]
    EmptyPayload,
    /// `meta` longer than 64 bytes.
    #[error("meta too long")]
    MetaTooLong,
    /// Larger than the configured maximum size.
    #[error("oversize")]
    Oversize,
    /// Timestamp further in the future than the window.
    #[error("timestamp in the future")]
    FutureTimestamp,
    /// Timestamp further in the past than the window.
    #[error("timestamp in the past")]
    PastTimestamp,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 7] = [
        Self::Malformed,
        Self::EmptyContentTopic,
        Self::EmptyPayload,
        Self::MetaTooLong,
        Self::Oversize,
        Self::FutureTimestamp,
        Self::PastTimestamp,
    ];

    fn index(self) -> usize {
        match self {
            Self::Malformed => 0,
            Self::EmptyContentTopic => 1,
            Self::EmptyPayload => 2,
            Self::MetaTooLong => 3,
            Self::Oversize => 4,
            Self::FutureTimestamp => 5,
            Self::PastTimestamp => 6,
        }
    }
}

impl From<MessageError> for RejectReason {
    fn from(e: MessageError) -> Self {
        match e {
            MessageError::EmptyContentTopic => Self::EmptyContentTopic,
            MessageError::EmptyPayload => Self::EmptyPayload,
            MessageError::MetaTooLong(_) => Self::MetaTooLong,
            MessageError::TooLarge { .. } => Self::Oversize,
            MessageError::Malformed => Self::Malformed,
        }
    }
}

/// Validator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    /// Largest accepted encoded `WakuMessage`.
    pub max_message_size: usize,
    /// Accepted distance of a timestamp from `now`, both directions. `None`
    /// disables the check. Messages without a timestamp are accepted (as nwaku).
    pub timestamp_window: Option<Duration>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            timestamp_window: Some(DEFAULT_TIMESTAMP_WINDOW),
        }
    }
}

/// Counts of accepted and rejected messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidatorStats {
    /// Accepted messages.
    pub accepted: u64,
    rejected: [u64; 7],
}

impl ValidatorStats {
    /// Rejections for one reason.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()]
    }
    /// All rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

/// The relay validator with its counters.
#[derive(Debug, Clone, Default)]
pub struct Validator {
    config: ValidatorConfig,
    stats: ValidatorStats,
}

impl Validator {
    /// A validator with `config`.
    pub fn new(config: ValidatorConfig) -> Self {
        Self {
            config,
            stats: ValidatorStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> &ValidatorStats {
        &self.stats
    }

    /// Validates relayed bytes at local time `now_ns` (Unix ns) and counts the
    /// outcome.
    pub fn validate(&mut self, data: &[u8], now_ns: i64) -> Result<WakuMessage, RejectReason> {
        let result = self.check(data, now_ns);
        match &result {
            Ok(_) => self.stats.accepted += 1,
            Err(r) => self.stats.rejected[r.index()] += 1,
        }
        result
    }

    /// Validates without counting.
    pub fn check(&self, data: &[u8], now_ns: i64) -> Result<WakuMessage, RejectReason> {
        let msg = WakuMessage::decode(data, self.config.max_message_size)?;
        if let (Some(window), Some(ts)) = (self.config.timestamp_window, msg.timestamp()) {
            let window = i64::try_from(window.as_nanos()).unwrap_or(i64::MAX);
            if ts > now_ns.saturating_add(window) {
                return Err(RejectReason::FutureTimestamp);
            }
            if ts < now_ns.saturating_sub(window) {
                return Err(RejectReason::PastTimestamp);
            }
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000_000_000;
    const S: i64 = 1_000_000_000;

    fn msg(ts: Option<i64>) -> Vec<u8> {
        let mut m = WakuMessage::new("/a/1/b/proto", b"hi".to_vec()).unwrap();
        if let Some(ts) = ts {
            m = m.with_timestamp(ts);
        }
        m.encode()
    }

    #[test]
    fn window_edges() {
        let mut v = Validator::default();
        assert!(v.validate(&msg(Some(NOW + 20 * S)), NOW).is_ok());
        assert!(v.validate(&msg(Some(NOW - 20 * S)), NOW).is_ok());
        assert_eq!(
            v.validate(&msg(Some(NOW + 20 * S + 1)), NOW),
            Err(RejectReason::FutureTimestamp)
        );
        assert_eq!(
            v.validate(&msg(Some(NOW - 20 * S - 1)), NOW),
            Err(RejectReason::PastTimestamp)
        );
        assert!(v.validate(&msg(None), NOW).is_ok());
        assert_eq!(v.stats().accepted, 3);
        assert_eq!(v.stats().rejected(RejectReason::FutureTimestamp), 1);
        assert_eq!(v.stats().rejected(RejectReason::PastTimestamp), 1);
        assert_eq!(v.stats().rejected_total(), 2);
    }

    #[test]
    fn configurable() {
        let mut v = Validator::new(ValidatorConfig {
            max_message_size: 30,
            timestamp_window: None,
        });
        assert!(v.validate(&msg(Some(0)), NOW).is_ok());
        let big = WakuMessage::new("/a/1/b/proto", vec![0; 40])
            .unwrap()
            .encode();
        assert_eq!(v.validate(&big, NOW), Err(RejectReason::Oversize));
    }

    #[test]
    fn reasons() {
        let mut v = Validator::default();
        assert_eq!(v.validate(&[0x0a], NOW), Err(RejectReason::Malformed));
        // payload empty, content topic set: field 2 only.
        assert_eq!(
            v.validate(&[0x12, 0x01, b'x'], NOW),
            Err(RejectReason::EmptyPayload)
        );
        assert_eq!(
            v.validate(&[0x0a, 0x01, 0x01], NOW),
            Err(RejectReason::EmptyContentTopic)
        );
        for r in RejectReason::ALL {
            assert!(v.stats().rejected(r) <= 1);
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), now in any::<i64>()) {
            let mut v = Validator::default();
            let _ = v.validate(&bytes, now);
            prop_assert_eq!(v.stats().accepted + v.stats().rejected_total(), 1);
        }

        #[test]
        fn extreme_timestamps(ts in any::<i64>(), now in any::<i64>()) {
            let v = Validator::default();
            let _ = v.check(&msg(Some(ts)), now);
        }
    }
}
