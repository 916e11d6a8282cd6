//! One TLS configuration for every HTTP client of the process. Making one reads and parses the
//! system's root certificates (about 45 ms on the machine CI runs on), so it is made once, on a
//! thread of its own while the server starts ([`warm`]), and clients are built on first use
//! ([`LazyClient`]): neither is on the way to a server that answers.

use std::sync::{Arc, OnceLock};

static CONNECTOR: OnceLock<Result<native_tls::TlsConnector, String>> = OnceLock::new();

/// The shared TLS configuration (the system's root certificates), made on first use.
fn connector() -> Result<native_tls::TlsConnector, String> {
    CONNECTOR
        .get_or_init(|| {
            native_tls::TlsConnector::new()
                .map_err(|e| format!("TLS could not be set up (root certificates): {e}"))
        })
        .clone()
}

/// Starts making the shared TLS configuration in the background, so the first client built
/// does not wait for it.
pub fn warm() {
    if CONNECTOR.get().is_none() {
        let _ = std::thread::Builder::new()
            .name("okcvm-tls".into())
            .spawn(|| drop(connector()));
    }
}

/// The options of a client, applied to a builder that has the shared TLS configuration.
type Configure = dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync;

/// A `reqwest::Client` built the first time it is needed, with the shared TLS configuration.
/// Clones share the one client.
#[derive(Clone)]
pub struct LazyClient(Arc<Lazy>);

struct Lazy {
    configure: Box<Configure>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl LazyClient {
    /// A client that will be built with `configure`'s options.
    pub fn new(
        configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Lazy {
            configure: Box::new(configure),
            client: OnceLock::new(),
        }))
    }

    /// The client; the first call builds it (waiting for the TLS configuration if [`warm`] has
    /// not finished making it).
    pub fn get(&self) -> Result<&reqwest::Client, String> {
        self.0
            .client
            .get_or_init(|| {
                let builder = reqwest::Client::builder().use_preconfigured_tls(connector()?);
                (self.0.configure)(builder)
                    .build()
                    .map_err(|e| format!("the HTTP client could not start: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("built", &self.0.client.get().is_some())
            .finish()
    }
}
