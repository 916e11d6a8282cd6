//! A bare HTTP server on any loopback address (`127.0.0.2` is not the jail's own loopback, so
//! the jail reaches it only through its proxy) that answers every request with the same body
//! and counts the connections it accepts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A running server: its port and how many connections it has accepted.
pub struct FixedServer {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
}

impl FixedServer {
    /// Serves `body` as `content_type` on `ip`, a thread per connection.
    pub fn start(ip: &str, content_type: &str, body: Vec<u8>) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let reply = Arc::new([head.into_bytes(), body].concat());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let reply = reply.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    let _ = stream.write_all(&reply);
                });
            }
        });
        Self { port, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
