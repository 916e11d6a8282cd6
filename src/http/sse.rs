//! A session's events as server-sent events: `id: <seq>`, `event: <type>`, `data: <json with
//! "type">`, keep-alive comments, and an end when the turn stops (chat) or the server shuts
//! down (both).

use std::convert::Infallible;
use std::time::Duration;

use futures::{Stream, StreamExt};
use okcvm_actors::event::{Event, EventKind};
use okcvm_actors::session::Subscription;
use tokio_util::sync::CancellationToken;
use warp::Reply;

/// Whether a stream ends with the turn or follows the session until the client leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// End after the next `stop` event (a chat request's own turn).
    Stop,
    /// Never end on its own (`GET /api/session/events`).
    Closed,
}

/// How long a stream waits for another event once the server is shutting down.
const DRAIN: Duration = Duration::from_millis(200);

/// The SSE reply for a subscription. At shutdown the stream still delivers what is committed
/// (a running turn's interruption comes just before), then ends.
/// An idle stream sends a comment every `keep_alive`, so proxies and clients know it is alive.
pub fn reply(
    subscription: Subscription,
    until: Until,
    shutdown: CancellationToken,
    keep_alive: Duration,
) -> impl Reply {
    let events = frames(subscription, until, shutdown);
    warp::sse::reply(
        warp::sse::keep_alive()
            .interval(keep_alive)
            .stream(events.map(Ok::<_, Infallible>)),
    )
}

fn frames(
    subscription: Subscription,
    until: Until,
    shutdown: CancellationToken,
) -> impl Stream<Item = warp::sse::Event> {
    futures::stream::unfold(Some(subscription), move |state| {
        let shutdown = shutdown.clone();
        async move {
            let mut subscription = state?;
            let next = if shutdown.is_cancelled() {
                tokio::time::timeout(DRAIN, subscription.next())
                    .await
                    .ok()?
            } else {
                tokio::select! {
                    biased;
                    next = subscription.next() => next,
                    () = shutdown.cancelled() => {
                        tokio::time::timeout(DRAIN, subscription.next()).await.ok()?
                    }
                }
            };
            match next {
                Ok(event) => {
                    let done = until == Until::Stop && matches!(event.kind, EventKind::Stop {});
                    let next = (!done).then_some(subscription);
                    Some((frame(&event), next))
                }
                // The session could not be reached: end the stream; the client resumes from the
                // last id it saw.
                Err(e) => {
                    tracing::warn!(error = %e, "event stream ended: the session is unavailable");
                    None
                }
            }
        }
    })
}

/// One event as an SSE frame.
pub fn frame(event: &Event) -> warp::sse::Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    warp::sse::Event::default()
        .id(event.seq.to_string())
        .event(event.kind.type_name())
        .data(data)
}
