//! Event append and fan-out throughput: one turn streams N token deltas from the fake model;
//! every delta becomes a numbered event committed to redb and fanned out to S subscribers.
//! Reported: events per second delivered to every subscriber (first event to the last
//! subscriber's `stop`).
//!
//! Run: `cargo bench --bench event_fanout` (EVENTS=50000 SUBSCRIBERS=100 to change).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use okcvm_actors::event::EventKind;
use support::bench::{block_on, env_or};
use support::fake_model::*;
use support::runtime::*;

fn main() {
    let events: usize = env_or("EVENTS", 50_000);
    let subscribers: usize = env_or("SUBSCRIBERS", 100);
    block_on(async move {
        let model = FakeModel::start().await;
        let mut stream: Vec<_> = (0..events).map(|_| ev_text("x")).collect();
        stream.push(ev_done());
        model.push(sse(stream));
        let dir = tempfile::tempdir().unwrap();
        let runtime = start(test_settings(dir.path(), &model.base_url())).await;
        let session = runtime.session(local("fanout")).unwrap();
        // Subscribers attach before the turn so each sees every event live.
        let mut followers = Vec::new();
        let (tx, mut ready) = tokio::sync::mpsc::channel(subscribers);
        for _ in 0..subscribers {
            let mut sub = session.subscribe(0);
            let tx = tx.clone();
            followers.push(tokio::spawn(async move {
                let mut first = None;
                let mut count = 0usize;
                loop {
                    let event = sub.next().await.unwrap();
                    first.get_or_insert_with(Instant::now);
                    count += 1;
                    if matches!(event.kind, EventKind::Stop {}) {
                        return (first.unwrap(), Instant::now(), count);
                    }
                    if count == 1 {
                        let _ = tx.try_send(());
                    }
                }
            }));
        }
        drop(tx);
        let started = session.start_turn(say("stream")).await.unwrap();
        let _ = started;
        for _ in 0..subscribers {
            ready.recv().await;
        }
        let mut first = None::<Instant>;
        let mut last = None::<Instant>;
        let mut delivered = 0usize;
        for follower in followers {
            let (f, l, count) = follower.await.unwrap();
            first = Some(first.map_or(f, |x| x.min(f)));
            last = Some(last.map_or(l, |x| x.max(l)));
            delivered += count;
        }
        let seconds = (last.unwrap() - first.unwrap()).as_secs_f64();
        let per_subscriber = delivered / subscribers;
        println!(
            "event_fanout: events={} subscribers={} elapsed={:.3}s throughput={:.0} events/s ({:.0} deliveries/s)",
            per_subscriber,
            subscribers,
            seconds,
            per_subscriber as f64 / seconds,
            delivered as f64 / seconds,
        );
        runtime.shutdown().await;
    });
}
