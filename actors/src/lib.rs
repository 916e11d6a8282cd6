//! The actor core of OKCVM.
//!
//! # Supervision tree
//!
//! ```text
//! Supervisor (root)
//!  ├─ StorageActor      owns the redb database; a writer thread groups commits
//!  ├─ LlmActor          OpenAI-compatible chat completions; each call runs in its own task
//!  ├─ ToolActor         runs tool calls in their own tasks
//!  └─ SessionManager    (tenant, session) -> SessionActor, spawned on demand, restarted
//!      └─ SessionActor  history tree, the running turn, the event log and its subscribers
//! ```
//!
//! # How a turn flows
//!
//! A caller asks the [`Runtime`] for a [`SessionHandle`] and starts a turn. The session actor
//! spawns the turn task ([`session`]'s `turn` module) with a cancellation token and returns at
//! once. The task records the user message (durable before the caller hears of the turn), then
//! loops: it streams a completion from the [`llm::LlmActor`], records the assistant message, runs
//! the requested tools through the [`tool::ToolActor`], records each result, and calls the model
//! again until it answers without tools. Every step is sent back to the session actor as a
//! message; the session numbers it, has the storage actor commit it, and only then fans it out
//! to subscribers over a bounded broadcast channel.

pub mod config;
pub mod history;
pub mod ids;
pub mod llm;
pub mod net;
pub mod private;
pub mod runtime;
pub mod schema;
pub mod services;
pub mod session;
pub mod spec;
pub mod storage;
mod sync;
pub mod tool;
pub mod types;
pub mod workspace;

pub use runtime::{Runtime, RuntimeError};
pub use session::SessionHandle;
pub use types::event;
pub use types::{is_valid_id, SessionKey, LOCAL_TENANT};
