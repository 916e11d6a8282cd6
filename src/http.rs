//! The HTTP API and the console, on warp: routing, the shared context, errors, and SSE.
//!
//! `routes` is the whole table, behind the browser guard (`guard`: the server's own host
//! names, state changes only from its own origins) and served by the edge (`edge`: our accept
//! loop, with its timeouts and connection cap). Handlers (in `api/`) are thin: they resolve
//! tenant and session (`context`), ask an actor, and map the answer; every failure leaves as
//! the same `{"detail", "code"}` body (`error`).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use warp::filters::BoxedFilter;
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

pub mod api;
mod body;
pub mod context;
pub mod edge;
pub mod error;
mod guard;
pub mod mime;
mod ratelimit;
pub mod settings;
pub mod sse;

use context::{session, tenant, with_app};
pub use context::{App, Authenticator};
use error::ApiError;
use settings::Endpoints;

impl App {
    /// The workspace snapshot store.
    pub fn snapshots(&self) -> okcvm_actors::workspace::snapshots::SnapshotStore {
        okcvm_actors::workspace::snapshots::SnapshotStore::for_settings(&self.settings)
    }

    /// The chat model in force, if any.
    pub fn chat_model(&self) -> Option<String> {
        self.endpoints_snapshot()
            .get("chat")
            .map(|e| e.model.clone())
    }

    pub fn endpoints_snapshot(&self) -> Endpoints {
        self.endpoints.read().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn endpoints_view(&self) -> serde_json::Value {
        self.endpoints_snapshot().public_view()
    }

    pub fn set_endpoints(&self, endpoints: Endpoints) {
        if let Ok(mut current) = self.endpoints.write() {
            *current = endpoints;
        }
    }
}

/// Holds `Endpoints` for [`App`]; a separate type so the lock is named in one place.
pub type EndpointsCell = RwLock<Endpoints>;

/// A handler's answer as a response: errors become the API's error body.
fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(ApiError::into_response)
}

/// Every route of the server, behind the browser guard; `listening` is the address it is
/// served on.
pub fn routes(app: Arc<App>, listening: SocketAddr) -> BoxedFilter<(Response,)> {
    let json_limit = app.settings.server.max_json_body_kb.saturating_mul(1024);
    let conversation_limit = app.settings.server.max_conversation_kb.saturating_mul(1024);
    let json_body = move || body::json(json_limit);
    let s = || session(app.clone());
    let t = || tenant(app.clone());

    let system = warp::path::end()
        .and(warp::get())
        .map(|| api::system::redirect("/ui/"))
        .or(warp::path("ui")
            .and(warp::get())
            .and(warp::path::full())
            .and(warp::path::tail())
            .and(warp::header::optional::<String>("if-none-match"))
            .map(
                |full: warp::path::FullPath, tail: warp::path::Tail, etag: Option<String>| {
                    if full.as_str() == "/ui" {
                        api::system::redirect("/ui/")
                    } else {
                        api::system::console(tail.as_str(), etag.as_deref())
                    }
                },
            ))
        .unify()
        .or(warp::path!("favicon.ico")
            .and(warp::get())
            .and(warp::header::optional::<String>("if-none-match"))
            .map(|etag: Option<String>| api::system::favicon(etag.as_deref())))
        .unify()
        .or(warp::path!("api" / "health")
            .and(warp::get())
            .and(t())
            .then(api::system::health)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "openapi.json")
            .and(warp::get())
            .map(api::system::openapi))
        .unify()
        .boxed();

    let sessions = warp::path!("api" / "session" / "boot")
        .and(warp::get())
        .and(s())
        .then(api::session::boot)
        .map(respond)
        .or(warp::path!("api" / "session" / "info")
            .and(warp::get())
            .and(s())
            .then(api::session::info)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "history" / String)
            .and(warp::get())
            .and(s())
            .then(api::session::history_entry)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "history")
            .and(warp::delete())
            .and(s())
            .then(api::session::clear_history)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "messages")
            .and(warp::get())
            .and(s())
            .then(api::session::messages)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "history" / "switch")
            .and(warp::post())
            .and(s())
            .and(json_body())
            .then(api::session::switch_branch)
            .map(respond))
        .unify()
        .boxed();

    let turns = warp::path!("api" / "chat")
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<String>("accept"))
        .and(json_body())
        .then(api::chat::chat)
        .map(respond)
        .or(warp::path!("api" / "session" / "stop")
            .and(warp::post())
            .and(s())
            .then(api::chat::stop)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "events")
            .and(warp::get())
            .and(s())
            .and(warp::header::optional::<String>("last-event-id"))
            .and(warp::query::<std::collections::HashMap<String, String>>())
            .then(api::chat::events)
            .map(respond))
        .unify()
        .boxed();

    let config = warp::path!("api" / "config")
        .and(warp::get())
        .and(t())
        .then(api::config::get)
        .map(respond)
        .or(warp::path!("api" / "auth" / "login")
            .and(warp::post())
            .and(login_allowed(&app))
            .and(with_app(app.clone()))
            .and(json_body())
            .then(api::auth::login)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "auth" / "logout")
            .and(warp::post())
            .and(with_app(app.clone()))
            .then(api::auth::logout)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "auth" / "me")
            .and(warp::get())
            .and(t())
            .then(api::auth::me)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "config")
            .and(warp::post())
            .and(t())
            .and(json_body())
            .then(api::config::post)
            .map(respond))
        .unify()
        .boxed();

    let conversation_body = move || body::json(conversation_limit);
    let conversations = warp::path!("api" / "conversations")
        .and(warp::get())
        .and(t())
        .then(api::conversations::list)
        .map(respond)
        .or(warp::path!("api" / "conversations")
            .and(warp::post())
            .and(t())
            .and(conversation_body())
            .then(api::conversations::create)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "conversations" / String)
            .and(warp::put())
            .and(t())
            .and(conversation_body())
            .then(api::conversations::update)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "conversations" / String)
            .and(warp::delete())
            .and(t())
            .then(api::conversations::delete)
            .map(respond))
        .unify()
        .boxed();

    let upload_limit = {
        let u = &app.settings.uploads;
        u.session_quota_bytes()
            .min(u.max_file_bytes().saturating_mul(u.max_files as u64))
            .saturating_add(1 << 20)
    };
    let uploads = warp::path!("api" / "session" / "files")
        .and(warp::get())
        .and(s())
        .then(api::uploads::list)
        .map(respond)
        .or(warp::path!("api" / "session" / "files")
            .and(warp::post())
            .and(s())
            .and(body::multipart(upload_limit))
            .then(api::uploads::upload)
            .map(respond))
        .unify()
        .boxed();

    let snapshots = warp::path!("api" / "session" / "workspace" / "snapshots")
        .and(warp::get())
        .and(s())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .then(api::snapshots::list)
        .map(respond)
        .or(warp::path!("api" / "session" / "workspace" / "snapshots")
            .and(warp::post())
            .and(s())
            .and(json_body())
            .then(api::snapshots::take)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "workspace" / "restore")
            .and(warp::post())
            .and(s())
            .and(json_body())
            .then(api::snapshots::restore)
            .map(respond))
        .unify()
        .or(warp::path!("api" / "session" / "workspace" / "branch")
            .and(warp::post())
            .and(s())
            .and(json_body())
            .then(api::snapshots::branch)
            .map(respond))
        .unify()
        .boxed();

    let files = warp::path!("api" / "session" / "workspace" / "files")
        .and(warp::get())
        .and(s())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .then(api::files::list)
        .map(respond)
        .or(warp::path("api")
            .and(warp::path("session"))
            .and(warp::path("workspace"))
            .and(warp::path("files"))
            .and(warp::path::tail())
            .and(warp::get())
            .and(s())
            .then(api::files::download)
            .map(respond))
        .unify()
        .boxed();

    let sites = warp::path("sites")
        .and(warp::path::param::<String>())
        .and(warp::path::tail())
        .and(warp::path::full())
        .and(warp::get())
        .and(with_app(app.clone()))
        .then(api::sites::serve)
        .map(respond)
        .boxed();

    let table = system
        .or(sessions)
        .unify()
        .or(turns)
        .unify()
        .or(config)
        .unify()
        .or(conversations)
        .unify()
        .or(uploads)
        .unify()
        .or(snapshots)
        .unify()
        .or(files)
        .unify()
        .or(sites)
        .unify();

    let policy = Arc::new(guard::BrowserPolicy::new(
        &app.settings,
        listening,
        app.auth.is_some(),
    ));
    let mut origins = app.settings.server.cors_origins.clone();
    if !origins.is_empty() {
        // Browsers send Origin on the console's own POSTs: its origins are always allowed.
        for own in policy.own_origins() {
            if !origins.contains(own) {
                origins.push(own.clone());
            }
        }
    }
    let table: BoxedFilter<(Response,)> = if origins.is_empty() {
        table.boxed()
    } else {
        let cors = warp::cors()
            .allow_origins(origins.iter().map(String::as_str))
            .allow_credentials(true)
            .allow_methods(["GET", "POST", "PUT", "DELETE"])
            .allow_headers([
                "content-type",
                "authorization",
                "x-okc-client-id",
                "last-event-id",
            ])
            .expose_headers(["x-request-id", "x-okc-turn-id"])
            .max_age(600);
        table.with(cors).map(Reply::into_response).boxed()
    };

    warp::any()
        .map(Instant::now)
        .and(warp::method())
        .and(warp::path::full())
        .and(
            guard::guard(policy)
                .and(table)
                .recover(error::recover)
                .unify(),
        )
        .map(access_log)
        .boxed()
}

/// Sign-in attempts within `auth.login_attempts_per_minute` for the client's address, else 429
/// `too_many_requests`.
fn login_allowed(app: &App) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    let limiter = Arc::new(ratelimit::RateLimiter::per_minute(
        app.settings.auth.login_attempts_per_minute,
    ));
    warp::ext::optional::<edge::ClientAddr>()
        .and_then(move |client: Option<edge::ClientAddr>| {
            let verdict = match client {
                Some(edge::ClientAddr(addr)) => limiter
                    .attempt(addr.ip(), Instant::now())
                    .map_err(warp::reject::custom),
                None => Ok(()),
            };
            async move { verdict }
        })
        .untuple_one()
}

/// Tags the response with a request id and writes one log line for it.
fn access_log(
    started: Instant,
    method: warp::http::Method,
    path: warp::path::FullPath,
    mut response: Response,
) -> Response {
    let request_id = okcvm_actors::ids::new_id();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%request_id, %method, path = path.as_str(), status, elapsed_ms, "request failed");
    } else {
        tracing::info!(%request_id, %method, path = path.as_str(), status, elapsed_ms, "request");
    }
    response
}
