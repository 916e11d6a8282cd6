//! A scripted HTTP server on 127.0.0.1 standing in for a search, finance or media provider:
//! each (method, path) answers what the test set, and every request is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warp::Filter;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| {
                let v = v.replace('+', " ");
                percent_decode(&v)
            })
        })
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn json(value: serde_json::Value) -> Self {
        Self::bytes("application/json", value.to_string().into_bytes())
    }

    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body,
            delay: Duration::ZERO,
        }
    }

    pub fn redirect(to: &str) -> Self {
        Self {
            status: 302,
            headers: vec![("location".into(), to.into())],
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Routes = Arc<Mutex<HashMap<(String, String), Reply>>>;

pub struct FakeHttp {
    pub url: String,
    routes: Routes,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests being answered now, and the most there were at once.
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl FakeHttp {
    pub async fn start() -> Self {
        let routes: Routes = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let in_flight: Arc<Mutex<(usize, usize)>> = Arc::default();
        let (r, s, f) = (routes.clone(), seen.clone(), in_flight.clone());
        let filter = warp::method()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      query: String,
                      headers: warp::http::HeaderMap,
                      body: bytes::Bytes| {
                    let (routes, seen, flight) = (r.clone(), s.clone(), f.clone());
                    async move {
                        {
                            let mut f = flight.lock().unwrap();
                            f.0 += 1;
                            f.1 = f.1.max(f.0);
                        }
                        let key = (method.to_string(), path.as_str().to_owned());
                        seen.lock().unwrap().push(Seen {
                            method: key.0.clone(),
                            path: key.1.clone(),
                            query,
                            headers: headers
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect(),
                            body: body.to_vec(),
                        });
                        let reply = routes.lock().unwrap().get(&key).cloned();
                        let reply = reply.unwrap_or_else(|| {
                            Reply::bytes("text/plain", b"no such route".to_vec()).status(404)
                        });
                        tokio::time::sleep(reply.delay).await;
                        flight.lock().unwrap().0 -= 1;
                        let mut response = warp::http::Response::builder().status(reply.status);
                        for (k, v) in &reply.headers {
                            response = response.header(k, v);
                        }
                        response.body(reply.body).unwrap()
                    }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(filter).incoming(listener).run());
        Self {
            url: format!("http://{addr}"),
            routes,
            seen,
            in_flight,
        }
    }

    pub fn on(&self, method: &str, path: &str, reply: Reply) {
        self.routes
            .lock()
            .unwrap()
            .insert((method.to_owned(), path.to_owned()), reply);
    }

    /// The most requests that were being answered at the same time.
    pub fn most_at_once(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // `get`: the two bytes after `%` may cut a character, which is no escape.
            if let Some(b) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
