//! Who a session belongs to, and which ids are usable.

use serde::{Deserialize, Serialize};

/// Who a session belongs to and which one it is. Every stored key starts with the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionKey {
    pub tenant: String,
    pub session: String,
}

impl SessionKey {
    pub fn new(tenant: impl Into<String>, session: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            session: session.into(),
        }
    }
}

impl std::fmt::Display for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.tenant, self.session)
    }
}

/// The tenant of everything when authentication is off.
pub const LOCAL_TENANT: &str = "local";

/// Whether `id` is usable as a tenant or session id: 1..=128 characters of `[A-Za-z0-9._-]`,
/// and not `.` or `..` (ids name directories).
pub fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
