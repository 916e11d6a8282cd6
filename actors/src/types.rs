//! The plain data every layer speaks: session keys, stored messages, tool call requests, the
//! images and to-do lists tools return, and the events of a session's log. A leaf: nothing here
//! names another module of the crate (apart from id generation), so storage, the model client,
//! tools and sessions can all use it without naming each other.

pub mod event;
mod key;
mod message;
mod tool;

pub use key::{is_valid_id, SessionKey, LOCAL_TENANT};
pub use message::{Measured, Message, Role};
pub use tool::{Todo, ToolCallRequest, ToolImage};
