//! A session's event log in memory: sequence numbers, what waits to be committed, what waits to
//! be published, and the broadcast channel that fans published events out to subscribers.
//!
//! The durability rule (docs/architecture.md, "Events"): an event other than a token or
//! reasoning delta reaches subscribers only once it is durable. Deltas are published at once,
//! in order behind every earlier event, while the store writes them in batches (with the next
//! event that is not a delta, when [`DELTA_BATCH`] wait, or after [`DELTA_FLUSH`]). A crash can
//! therefore lose deltas that a client has already seen, but never reuse their numbers: no
//! delta is published more than [`UNDURABLE_SEQS`] numbers above the last durable event, and a
//! session that finds its turn interrupted on loading skips that many numbers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::LiveFeed;
use crate::event::{Event, EventKind};

/// Published batches a subscriber may be behind by before it resyncs (from the store and the
/// session's tail, so falling behind loses nothing). The channel holds this many slots from
/// the start, so it is made only while someone listens.
const FANOUT_CAPACITY: usize = 256;

/// How far above the last durable event a delta may be published. A session loaded after a
/// crash during a turn numbers its events from above the stored ones plus this, so a number a
/// client saw is never given to another event.
pub(crate) const UNDURABLE_SEQS: u64 = 4096;

/// Deltas waiting for the store that make the session write them without waiting for the next
/// event that is not a delta.
pub(super) const DELTA_BATCH: usize = 256;

/// The longest a published delta waits before the session writes it.
pub(super) const DELTA_FLUSH: Duration = Duration::from_secs(1);

/// The events of one publication, in order, as subscribers receive them.
pub type EventBatch = Arc<[Arc<Event>]>;

pub(super) struct EventLog {
    next_seq: u64,
    /// The last event the store has acknowledged.
    durable: u64,
    /// The last event fanned out to subscribers.
    published: u64,
    /// Not yet sent to the store, in order (published deltas and events waiting to be).
    to_write: Vec<Arc<Event>>,
    /// Assigned and not yet published, in order: an event waiting for its commit, and every
    /// event after it.
    to_publish: VecDeque<Arc<Event>>,
    /// Published and not yet durable (deltas): a new subscriber gets them from here, since the
    /// store does not have them yet.
    undurable: VecDeque<Arc<Event>>,
    /// Batches sent to the store and not yet acknowledged.
    in_flight: usize,
    /// The channel to subscribers, while there are any.
    fanout: Option<broadcast::Sender<EventBatch>>,
}

impl EventLog {
    pub(super) fn new(last_seq: u64) -> Self {
        Self {
            next_seq: last_seq + 1,
            durable: last_seq,
            published: last_seq,
            to_write: Vec::new(),
            to_publish: VecDeque::new(),
            undurable: VecDeque::new(),
            in_flight: 0,
            fanout: None,
        }
    }

    /// A log for a session whose last turn was cut off by a crash: numbering skips every
    /// number that may have been published without being stored.
    pub(super) fn after_crash(last_stored: u64) -> Self {
        Self::new(last_stored + UNDURABLE_SEQS)
    }

    /// A new event with the next sequence number, outside the log (the caller commits it).
    pub(super) fn make(&mut self, turn_id: Option<String>, kind: EventKind) -> Arc<Event> {
        let event = Arc::new(Event {
            seq: self.next_seq,
            turn_id,
            at_ms: crate::ids::now_ms(),
            kind,
        });
        self.next_seq += 1;
        event
    }

    /// Appends an event: it waits for the store, and is published as soon as the durability
    /// rule allows (a delta at once when nothing before it waits).
    pub(super) fn push(&mut self, turn_id: Option<String>, kind: EventKind) {
        self.push_all(turn_id, [kind]);
    }

    /// Appends events that arrived together: what may be published of them goes to
    /// subscribers as one message, so a burst of deltas costs each subscriber one wake-up.
    pub(super) fn push_all(
        &mut self,
        turn_id: Option<String>,
        kinds: impl IntoIterator<Item = EventKind>,
    ) {
        for kind in kinds {
            let event = self.make(turn_id.clone(), kind);
            self.to_write.push(event.clone());
            self.to_publish.push_back(event);
        }
        self.publish_ready();
    }

    /// Events waiting to be sent to the store.
    pub(super) fn unwritten(&self) -> usize {
        self.to_write.len()
    }

    /// Takes what waits for the store, to send as one batch; the batch counts as in flight
    /// until [`Self::committed`] hears of it.
    pub(super) fn take_pending(&mut self) -> Vec<Arc<Event>> {
        let events = std::mem::take(&mut self.to_write);
        if !events.is_empty() {
            self.in_flight += 1;
        }
        events
    }

    /// Records events committed outside the normal path (while the session starts), which
    /// nobody can have seen yet.
    pub(super) fn mark_committed(&mut self, events: &[Arc<Event>]) {
        if let Some(last) = events.last() {
            self.durable = self.durable.max(last.seq);
            self.published = self.published.max(last.seq);
        }
    }

    /// The store has made a batch from [`Self::take_pending`] durable: publishes what may now
    /// be published.
    pub(super) fn committed(&mut self, events: &[Arc<Event>]) {
        let Some(last) = events.last() else {
            return;
        };
        self.in_flight = self.in_flight.saturating_sub(1);
        self.durable = self.durable.max(last.seq);
        while self
            .undurable
            .front()
            .is_some_and(|e| e.seq <= self.durable)
        {
            self.undurable.pop_front();
        }
        self.publish_ready();
    }

    /// Publishes, in order, every waiting event the durability rule lets go, as one message:
    /// a burst costs each subscriber one wake-up.
    fn publish_ready(&mut self) {
        let mut batch = Vec::new();
        while let Some(front) = self.to_publish.front() {
            let durable = front.seq <= self.durable;
            let delta_allowed = front.kind.is_delta() && front.seq <= self.durable + UNDURABLE_SEQS;
            if !durable && !delta_allowed {
                break;
            }
            let Some(event) = self.to_publish.pop_front() else {
                break;
            };
            if !durable {
                self.undurable.push_back(event.clone());
            }
            self.published = event.seq;
            batch.push(event);
        }
        if batch.is_empty() {
            return;
        }
        if let Some(fanout) = &self.fanout {
            if fanout.send(batch.into()).is_err() {
                // Everyone left: the channel's slots go until someone subscribes again.
                self.fanout = None;
            }
        }
    }

    /// Everything after `committed_seq` (the store has everything up to it): first `tail`,
    /// published and not yet durable, then whatever `receiver` brings.
    pub(super) fn subscribe(&mut self) -> LiveFeed {
        let fanout = self
            .fanout
            .get_or_insert_with(|| broadcast::channel(FANOUT_CAPACITY).0);
        LiveFeed {
            receiver: fanout.subscribe(),
            committed_seq: self.durable,
            tail: self.undurable.iter().cloned().collect(),
        }
    }

    /// The last event the store has acknowledged.
    pub(super) fn durable(&self) -> u64 {
        self.durable
    }

    pub(super) fn last_assigned(&self) -> u64 {
        self.next_seq - 1
    }

    /// Nothing waiting, nothing in flight, nobody listening.
    pub(super) fn is_quiet(&self) -> bool {
        self.to_write.is_empty()
            && self.to_publish.is_empty()
            && self.in_flight == 0
            && self.fanout.as_ref().is_none_or(|f| f.receiver_count() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> EventKind {
        EventKind::Token { delta: text.into() }
    }

    fn seqs(batch: &EventBatch) -> Vec<u64> {
        batch.iter().map(|e| e.seq).collect()
    }

    fn tail(log: &mut EventLog) -> Vec<u64> {
        log.subscribe().tail.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn deltas_are_published_before_they_are_durable() {
        let mut log = EventLog::new(10);
        let mut rx = log.subscribe().receiver;
        log.push(None, token("a"));
        log.push(None, token("b"));
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![11]);
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![12]);
        assert_eq!(log.durable(), 10);
        assert_eq!(log.subscribe().committed_seq, 10);
        assert_eq!(tail(&mut log), vec![11, 12]);
        let batch = log.take_pending();
        log.committed(&batch);
        assert_eq!(tail(&mut log), Vec::<u64>::new());
        drop(rx);
        assert!(log.is_quiet());
    }

    #[test]
    fn other_events_and_the_deltas_behind_them_wait_for_their_commit() {
        let mut log = EventLog::new(0);
        let mut rx = log.subscribe().receiver;
        log.push(None, token("a"));
        log.push(None, EventKind::Stop {});
        log.push(None, token("b"));
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![1]);
        assert!(rx.try_recv().is_err(), "stop and what follows wait");
        let batch = log.take_pending();
        assert_eq!(batch.len(), 3);
        log.committed(&batch[..2]);
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![2, 3]);
        assert_eq!(tail(&mut log), vec![3]);
    }

    #[test]
    fn deltas_stop_being_published_far_above_the_durable_point() {
        let mut log = EventLog::new(0);
        for _ in 0..UNDURABLE_SEQS + 3 {
            log.push(None, token("x"));
        }
        assert_eq!(log.published, UNDURABLE_SEQS);
        let mut rx = log.subscribe().receiver;
        let batch = log.take_pending();
        log.committed(&batch[..1]);
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![UNDURABLE_SEQS + 1]);
        assert_eq!(tail(&mut log).len() as u64, UNDURABLE_SEQS);
    }

    #[test]
    fn deltas_that_arrive_together_are_published_together() {
        let mut log = EventLog::new(0);
        let mut rx = log.subscribe().receiver;
        log.push_all(None, [token("a"), token("b"), token("c")]);
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![1, 2, 3]);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn the_fanout_channel_exists_only_while_someone_listens() {
        let mut log = EventLog::new(0);
        log.push(None, token("nobody hears this"));
        assert!(log.fanout.is_none());
        let rx = log.subscribe().receiver;
        assert!(log.fanout.is_some());
        drop(rx);
        log.push(None, token("the last listener left"));
        assert!(log.fanout.is_none());
        let mut rx = log.subscribe().receiver;
        log.push(None, token("heard"));
        assert_eq!(seqs(&rx.try_recv().unwrap()), vec![3]);
    }

    #[test]
    fn numbering_after_a_crash_is_above_anything_that_was_published() {
        let mut log = EventLog::new(5);
        for _ in 0..UNDURABLE_SEQS + 10 {
            log.push(None, token("x"));
        }
        let published = log.published;
        let mut reloaded = EventLog::after_crash(5);
        let next = reloaded.make(None, EventKind::Stop {});
        assert!(next.seq > published, "{} <= {published}", next.seq);
    }
}
