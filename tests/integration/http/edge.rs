//! The edge holds against idle and slow clients: connections that never finish a request head,
//! or sit idle, are closed after their timeouts; hundreds of idle connections under a low
//! open-files limit do not keep others out; at the connection cap the server answers 503;
//! a half-sent request does not delay shutdown; uploads without a length, or announcing too
//! much, are refused before they are read; clients that go away are not logged as errors.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use okcvm_actors::config::Settings;
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longer than any timeout these tests set, short enough to fail fast when one is not kept.
const CLOSE_WITHIN: Duration = Duration::from_secs(15);

async fn start(
    configure: impl FnOnce(&mut Settings),
) -> (TestServer, FakeModel, tempfile::TempDir) {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    configure(&mut settings);
    (TestServer::start(settings).await, model, dir)
}

fn addr(server: &TestServer) -> SocketAddr {
    server.url.trim_start_matches("http://").parse().unwrap()
}

/// Reads until the server closes the connection; what it sent, or `None` when it stayed open
/// for `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

/// The response to one request on a raw connection (read up to the end of its body, by
/// Content-Length).
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(CLOSE_WITHIN, stream.read(&mut buffer))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "closed before a full response");
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

fn health_request() -> String {
    "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_string()
}

#[tokio::test]
async fn connections_that_never_finish_a_head_or_sit_idle_are_closed() {
    let (server, _model, _dir) = start(|s| {
        s.server.header_timeout_secs = 1;
        s.server.idle_timeout_secs = 6;
    })
    .await;
    let addr = addr(&server);

    // Connects and sends nothing.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // Sends a head slowly, one header line a while, never the end.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let dribble = tokio::spawn(async move {
        for i in 0.. {
            if slow
                .write_all(format!("x-slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        slow
    });
    assert_eq!(
        closed_within(&mut silent, CLOSE_WITHIN).await.as_deref(),
        Some(""),
        "a silent connection is closed without an answer"
    );
    let mut slow = tokio::time::timeout(CLOSE_WITHIN, dribble)
        .await
        .expect("the slow head is cut off")
        .unwrap();
    assert!(closed_within(&mut slow, CLOSE_WITHIN).await.is_some());

    // A kept-alive connection outlives the header timeout while idle, then is closed.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    assert!(exchange(&mut kept, &health_request())
        .await
        .starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        exchange(&mut kept, &health_request())
            .await
            .starts_with("HTTP/1.1 200"),
        "idle for twice the header timeout, well within the idle timeout"
    );
    assert_eq!(
        closed_within(&mut kept, CLOSE_WITHIN).await.as_deref(),
        Some("")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_not_delayed_by_half_sent_requests_or_idle_connections() {
    let (server, _model, _dir) = start(|_| {}).await;
    let addr = addr(&server);
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(exchange(&mut idle, &health_request())
        .await
        .starts_with("HTTP/1.1 200"));
    // Both are known to the server before it is told to stop.
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.at("/api/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let started = Instant::now();
    server.shutdown().await;
    // The drain limit is 10 s; a server waiting on either connection would take all of it.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(closed_within(&mut half, Duration::from_secs(1))
        .await
        .is_some());
    assert!(closed_within(&mut idle, Duration::from_secs(1))
        .await
        .is_some());
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_and_busy_ones_get_503() {
    let (server, _model, _dir) = start(|s| s.server.max_connections = 2).await;
    let addr = addr(&server);
    // Two idle connections fill the cap; a new request closes the one idle longest.
    let mut first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    let fresh = || reqwest::Client::new();
    assert_eq!(
        fresh()
            .get(server.at("/api/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(closed_within(&mut first, CLOSE_WITHIN).await.is_some());

    // Two event streams hold both connections busy.
    let streams = reqwest::Client::new();
    let mut open = Vec::new();
    for session in ["a", "b"] {
        let response = streams
            .get(server.at(&format!("/api/session/events?client_id={session}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let busy = fresh().get(server.at("/api/health")).send().await.unwrap();
    assert_eq!(busy.headers()["retry-after"], "1");
    let (status, body) = status_json(busy).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("server_busy")));

    // Once a stream ends, there is room again.
    drop(open.pop());
    let deadline = Instant::now() + CLOSE_WITHIN;
    loop {
        let status = fresh()
            .get(server.at("/api/health"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still busy after a stream ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(open);
    server.shutdown().await;
}

#[tokio::test]
async fn health_answers_while_hundreds_of_idle_connections_are_open_under_a_low_fd_limit() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = support::binary::start_with_fd_limit(
        env!("CARGO_BIN_EXE_okcvm"),
        dir.path(),
        &model.base_url(),
        &[],
        256,
    )
    .await;
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let pid = server.child.id().unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["256", "256"],
        "the server runs under the low limit: {open_files}"
    );
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Half of them also start a request head and stop.
    for stream in idle.iter_mut().step_by(2) {
        let _ = stream.write_all(b"GET /api/health HTTP/1.1\r\n").await;
    }
    for _ in 0..5 {
        let response = tokio::time::timeout(
            CLOSE_WITHIN,
            reqwest::Client::new()
                .get(format!("{}/api/health", server.url))
                .send(),
        )
        .await
        .expect("health answers in time")
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    drop(idle);
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn uploads_without_a_length_get_411_and_announcing_too_much_get_413() {
    let (server, _model, _dir) = start(|_| {}).await;
    let addr = addr(&server);
    let head = |framing: &str| {
        format!(
            "POST /api/session/files?client_id=s HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: multipart/form-data; boundary=b\r\n{framing}\r\n"
        )
    };
    let mut chunked = TcpStream::connect(addr).await.unwrap();
    let answer = exchange(&mut chunked, &head("Transfer-Encoding: chunked\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    assert!(answer.contains(r#""code":"length_required""#), "{answer}");

    let mut huge = TcpStream::connect(addr).await.unwrap();
    let answer = exchange(&mut huge, &head("Content-Length: 1000000000000\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"body_too_large""#), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn clients_that_close_event_streams_are_not_logged_as_errors() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Frequent keep-alives, so the server soon writes to the streams its clients closed; the
    // edge's own lines (debug) show when it has noticed.
    let server = support::binary::start(
        env!("CARGO_BIN_EXE_okcvm"),
        dir.path(),
        &model.base_url(),
        &[
            ("OKCVM_SERVER__SSE_KEEPALIVE_S", "0.1"),
            ("RUST_LOG", "warn,okcvm::http::edge=debug"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    for session in ["a", "b", "c"] {
        let mut events = SseReader::new(
            client
                .get(format!(
                    "{}/api/session/events?client_id={session}",
                    server.url
                ))
                .send()
                .await
                .unwrap(),
        );
        // A keep-alive arrives: the stream is open. Then the client closes it.
        tokio::time::timeout(Duration::from_millis(250), events.next())
            .await
            .ok();
        assert!(events.comments > 0, "the stream was open");
    }
    let deadline = Instant::now() + CLOSE_WITHIN;
    while server.log().matches("connection ended").count() < 3 {
        assert!(
            Instant::now() < deadline,
            "the closed streams were not noticed: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = server.log();
    assert!(!log.contains("ERROR"), "{log}");
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
}
