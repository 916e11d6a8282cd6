use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixStream};

use super::*;
use crate::config::WebSettings;

fn guard(allow: &[&str]) -> NetGuard {
    NetGuard::new(
        &WebSettings {
            allow: allow.iter().map(|a| (*a).to_owned()).collect(),
            ..WebSettings::default()
        },
        None,
    )
    .unwrap()
}

/// An upstream that answers one HTTP request with the request head it received.
async fn echo_head_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{head}",
            head.len()
        );
        reader.get_mut().write_all(reply.as_bytes()).await.unwrap();
    });
    (port, task)
}

async fn exchange(proxy: &ProxyServer, request: &[u8]) -> String {
    let mut client = UnixStream::connect(proxy.path()).await.unwrap();
    // The proxy may answer and close before it has read everything (an oversized head).
    let _ = client.write_all(request).await;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = client.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn proxy(dir: &tempfile::TempDir, allow: &[&str]) -> ProxyServer {
    ProxyServer::start(guard(allow), dir.path().join("proxy.sock")).unwrap()
}

#[tokio::test]
async fn a_plain_request_is_forwarded_in_origin_form_without_proxy_headers() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy(&dir, &["127.0.0.1"]);
    let (port, upstream) = echo_head_server().await;
    let request = format!(
        "GET http://127.0.0.1:{port}/a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nAccept: */*\r\n\r\n"
    );
    let answer = exchange(&proxy, request.as_bytes()).await;
    upstream.await.unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body,
        format!("GET /a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\nConnection: close\r\n")
    );
}

#[tokio::test]
async fn a_tunnel_to_an_allowed_address_carries_bytes_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy(&dir, &["127.0.0.1"]);
    let (port, upstream) = echo_head_server().await;
    let mut client = UnixStream::connect(proxy.path()).await.unwrap();
    client
        .write_all(
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\nPING /x HTTP/1.1\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    upstream.await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("PING /x HTTP/1.1\r\n"), "{answer}");
}

#[tokio::test]
async fn a_tunnel_or_request_to_loopback_is_refused_with_the_guards_message() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy(&dir, &[]);
    let (port, _upstream) = echo_head_server().await;
    for request in [
        format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
        format!("CONNECT localhost:{port} HTTP/1.1\r\n\r\n"),
        format!("GET http://[::ffff:127.0.0.1]:{port}/ HTTP/1.1\r\n\r\n"),
        "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n".to_owned(),
        "GET http://10.1.2.3/ HTTP/1.1\r\n\r\n".to_owned(),
    ] {
        let answer = exchange(&proxy, request.as_bytes()).await;
        assert!(
            answer.starts_with("HTTP/1.1 403 refused by the network guard: "),
            "{request}: {answer}"
        );
        assert!(answer.contains("which tools may not reach"), "{answer}");
    }
}

#[tokio::test]
async fn every_ipv6_form_of_loopback_and_private_addresses_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Even with 127.0.0.1 allowed on the listening port, the IPv6 forms are not it.
    let (port, _upstream) = echo_head_server().await;
    let proxy = proxy(&dir, &[&format!("127.0.0.1:{port}")]);
    for host in [
        "[::127.0.0.1]",
        "[::7f00:1]",
        "[64:ff9b::127.0.0.1]",
        "[64:ff9b:1::7f00:1]",
        "[2002:7f00:1::]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::a00:1]",
        "[2002:c0a8:101::1]",
        "[fd00::1]",
        "[fec0::1]",
    ] {
        for request in [
            format!("CONNECT {host}:{port} HTTP/1.1\r\n\r\n"),
            format!("GET http://{host}:{port}/ HTTP/1.1\r\n\r\n"),
        ] {
            let answer = exchange(&proxy, request.as_bytes()).await;
            assert!(
                answer.starts_with("HTTP/1.1 403 refused by the network guard: "),
                "{request}: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn a_host_port_entry_opens_that_port_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (open, upstream) = echo_head_server().await;
    let (closed, _other) = echo_head_server().await;
    let proxy = proxy(&dir, &[&format!("127.0.0.1:{open}")]);
    let answer = exchange(
        &proxy,
        format!("GET http://127.0.0.1:{open}/ok HTTP/1.1\r\n\r\n").as_bytes(),
    )
    .await;
    upstream.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    for request in [
        format!("GET http://127.0.0.1:{closed}/ HTTP/1.1\r\n\r\n"),
        format!("CONNECT 127.0.0.1:{closed} HTTP/1.1\r\n\r\n"),
        format!("CONNECT localhost:{closed} HTTP/1.1\r\n\r\n"),
    ] {
        let answer = exchange(&proxy, request.as_bytes()).await;
        assert!(
            answer.starts_with("HTTP/1.1 403 refused by the network guard: "),
            "{request}: {answer}"
        );
        assert!(answer.contains(&format!("port {closed}")), "{answer}");
    }
}

#[tokio::test]
async fn the_servers_own_port_is_refused_whatever_web_allow_says() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _upstream) = echo_head_server().await;
    let guard = NetGuard::new(
        &WebSettings {
            allow: vec!["127.0.0.0/8".into(), format!("127.0.0.1:{port}")],
            ..WebSettings::default()
        },
        Some(port),
    )
    .unwrap();
    let proxy = ProxyServer::start(guard.clone(), dir.path().join("proxy.sock")).unwrap();
    let answer = exchange(
        &proxy,
        format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    for url in [
        format!("http://127.0.0.1:{port}/api/health"),
        format!("http://localhost:{port}/api/health"),
    ] {
        let error = guard.get(&url).await.unwrap_err();
        assert!(matches!(error, GuardError::Refused(_)), "{url}: {error}");
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy(&dir, &["127.0.0.1"]);
    for request in [
        b"GET /relative HTTP/1.1\r\n\r\n".to_vec(),
        b"CONNECT nohostport HTTP/1.1\r\n\r\n".to_vec(),
        b"GET https://example.com/ HTTP/1.1\r\n\r\n".to_vec(),
        b"\x00\x01garbage\r\n\r\n".to_vec(),
        [
            b"GET http://a/ HTTP/1.1\r\nX: ".as_slice(),
            &vec![b'a'; 40_000],
        ]
        .concat(),
    ] {
        let answer = exchange(&proxy, &request).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:.200}");
    }
}

#[test]
fn authorities_split_into_host_and_port() {
    assert_eq!(
        split_authority("example.com:443"),
        Some(("example.com".into(), 443))
    );
    assert_eq!(split_authority("[::1]:8080"), Some(("::1".into(), 8080)));
    assert_eq!(split_authority("example.com"), None);
    assert_eq!(split_authority(":80"), None);
}
