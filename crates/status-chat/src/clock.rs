//! Lamport clocks per chat and the total order both sides agree on (62 "Clock vs
//! Timestamp and message ordering").

use crate::ids::MessageId;

/// How far ahead of the receiver's time a message clock may be before the message is
/// discarded (62: 120 seconds), in milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 120_000;

/// The Lamport clock of one chat.
///
/// Sending "bids" `max(now_ms, last + 1)` so that a message written after coming back
/// online sorts after what was missed; receiving raises the clock to at least the
/// received value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LamportClock {
    last: u64,
}

impl LamportClock {
    /// A clock that has seen `last`.
    pub const fn new(last: u64) -> Self {
        LamportClock { last }
    }

    /// The highest clock seen or sent.
    pub const fn last(&self) -> u64 {
        self.last
    }

    /// The clock for a new message sent at `now_ms`, recorded as seen.
    pub fn tick(&mut self, now_ms: u64) -> u64 {
        self.last = now_ms.max(self.last.saturating_add(1));
        self.last
    }

    /// Records a received clock.
    pub fn observe(&mut self, clock: u64) {
        self.last = self.last.max(clock);
    }
}

/// Whether a received clock is acceptable at `now_ms`: not more than
/// [`MAX_CLOCK_SKEW_MS`] in the future (62).
pub fn clock_acceptable(clock: u64, now_ms: u64) -> bool {
    clock <= now_ms.saturating_add(MAX_CLOCK_SKEW_MS)
}

/// The position of a message in a chat: by clock, then by message id. Both sides compute
/// the same key from the same message, so they show the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    /// Lamport clock.
    pub clock: u64,
    /// Tie-break.
    pub id: MessageId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_bids_wall_clock_and_stays_monotonic() {
        let mut c = LamportClock::default();
        assert_eq!(c.tick(1000), 1000);
        assert_eq!(c.tick(1000), 1001);
        assert_eq!(c.tick(500), 1002);
        c.observe(5000);
        assert_eq!(c.tick(1200), 5001);
        c.observe(10);
        assert_eq!(c.last(), 5001);
        assert_eq!(LamportClock::new(u64::MAX).tick(0), u64::MAX);
    }

    #[test]
    fn order_is_total_and_shared() {
        let a = OrderKey {
            clock: 5,
            id: MessageId([2; 32]),
        };
        let b = OrderKey {
            clock: 5,
            id: MessageId([1; 32]),
        };
        let c = OrderKey {
            clock: 4,
            id: MessageId([9; 32]),
        };
        let mut v = vec![a, b, c];
        v.sort();
        assert_eq!(v, vec![c, b, a]);
        assert!(clock_acceptable(1000 + MAX_CLOCK_SKEW_MS, 1000));
        assert!(!clock_acceptable(1001 + MAX_CLOCK_SKEW_MS, 1000));
    }
}
