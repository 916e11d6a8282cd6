//! A session's event log in memory: sequence numbers, the deltas waiting to be committed, and
//! the broadcast channel that fans committed batches out to subscribers.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::LiveFeed;
use crate::event::{Event, EventKind};

/// Committed batches a subscriber may be behind by before it resyncs from the store. Events
/// are fanned out a commit at a time, so this covers thousands of token deltas.
const FANOUT_CAPACITY: usize = 256;

/// The events of one commit, in order, as subscribers receive them.
pub type EventBatch = Arc<[Arc<Event>]>;

pub(super) struct EventLog {
    next_seq: u64,
    committed: u64,
    pending: Vec<Arc<Event>>,
    /// Batches sent to the store and not yet acknowledged.
    in_flight: usize,
    fanout: broadcast::Sender<EventBatch>,
}

impl EventLog {
    pub(super) fn new(last_seq: u64) -> Self {
        Self {
            next_seq: last_seq + 1,
            committed: last_seq,
            pending: Vec::new(),
            in_flight: 0,
            fanout: broadcast::channel(FANOUT_CAPACITY).0,
        }
    }

    /// A new event with the next sequence number.
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

    /// Adds an event to those waiting to be committed.
    pub(super) fn push(&mut self, turn_id: Option<String>, kind: EventKind) {
        let event = self.make(turn_id, kind);
        self.pending.push(event);
    }

    /// No batch is waiting for the store: new events can be sent at once.
    pub(super) fn idle(&self) -> bool {
        self.in_flight == 0
    }

    pub(super) fn take_pending(&mut self) -> Vec<Arc<Event>> {
        let events = std::mem::take(&mut self.pending);
        if !events.is_empty() {
            self.in_flight += 1;
        }
        events
    }

    /// Records events committed outside the normal path (while the session starts).
    pub(super) fn mark_committed(&mut self, events: &[Arc<Event>]) {
        if let Some(last) = events.last() {
            self.committed = last.seq;
        }
    }

    /// Fans out a batch the store has made durable.
    pub(super) fn publish(&mut self, events: Vec<Arc<Event>>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(last) = events.last() else {
            return;
        };
        self.committed = last.seq;
        // One message per commit however many events it holds: a burst of deltas costs each
        // subscriber one wake-up. An error only means nobody is listening right now.
        let _ = self.fanout.send(events.into());
    }

    pub(super) fn subscribe(&self) -> LiveFeed {
        LiveFeed {
            receiver: self.fanout.subscribe(),
            committed_seq: self.committed,
        }
    }

    pub(super) fn committed(&self) -> u64 {
        self.committed
    }

    pub(super) fn last_assigned(&self) -> u64 {
        self.next_seq - 1
    }

    /// Nothing waiting, nothing in flight, nobody listening.
    pub(super) fn is_quiet(&self) -> bool {
        self.pending.is_empty() && self.in_flight == 0 && self.fanout.receiver_count() == 0
    }
}
