//! The handlers, one file per group of routes. Each resolves what it needs from the request
//! context, asks an actor, and maps the answer; nothing here touches the store or a model.

pub mod auth;
pub mod chat;
pub mod config;
pub mod conversations;
pub mod files;
pub mod session;
pub mod sites;
pub mod snapshots;
pub mod system;
pub mod uploads;
