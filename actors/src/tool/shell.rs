//! `shell`.

use std::sync::Arc;

use super::Tool;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    Vec::new()
}
