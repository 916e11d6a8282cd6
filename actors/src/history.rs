//! A session's history: a tree of messages. Each message names its parent; the session keeps an
//! active leaf, and the conversation the model sees is the path from the root to that leaf.
//! Regenerating or editing a message adds a sibling, so old branches stay readable.

use std::collections::HashMap;

pub use crate::types::{Measured, Message, Role};

/// The whole tree of a session, indexed.
#[derive(Debug, Clone, Default)]
pub struct HistoryTree {
    messages: HashMap<String, Message>,
    /// Children of each message, oldest first; roots under `None`.
    children: HashMap<Option<String>, Vec<String>>,
}

impl HistoryTree {
    /// Builds the tree from stored messages in any order.
    pub fn from_messages(mut messages: Vec<Message>) -> Self {
        messages.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        let mut tree = Self::default();
        for message in messages {
            tree.insert(message);
        }
        tree
    }

    pub fn insert(&mut self, message: Message) {
        let siblings = self.children.entry(message.parent_id.clone()).or_default();
        if !siblings.contains(&message.id) {
            siblings.push(message.id.clone());
        }
        self.messages.insert(message.id.clone(), message);
    }

    pub fn get(&self, id: &str) -> Option<&Message> {
        self.messages.get(id)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The messages from the root to `leaf`, in order. Empty for `None`.
    pub fn path_to(&self, leaf: Option<&str>) -> Vec<&Message> {
        let mut path = Vec::new();
        let mut cursor = leaf.and_then(|id| self.messages.get(id));
        while let Some(message) = cursor {
            path.push(message);
            cursor = message
                .parent_id
                .as_deref()
                .and_then(|id| self.messages.get(id));
        }
        path.reverse();
        path
    }

    /// Ids of the messages sharing `id`'s parent (including `id`), oldest first.
    pub fn siblings(&self, id: &str) -> Vec<String> {
        match self.messages.get(id) {
            Some(message) => self
                .children
                .get(&message.parent_id)
                .cloned()
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// The leaf reached from `id` by always following the newest child: switching to a branch
    /// shows that branch's latest state.
    pub fn newest_leaf_from(&self, id: &str) -> Option<String> {
        let mut current = self.messages.get(id)?.id.clone();
        while let Some(last) = self
            .children
            .get(&Some(current.clone()))
            .and_then(|c| c.last())
        {
            current = last.clone();
        }
        Some(current)
    }

    /// The newest user message on the path to `leaf`.
    pub fn last_user_on_path(&self, leaf: Option<&str>) -> Option<&Message> {
        self.path_to(leaf)
            .into_iter()
            .rev()
            .find(|m| m.role == Role::User)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, parent: Option<&str>, role: Role, at: i64) -> Message {
        Message {
            id: id.into(),
            parent_id: parent.map(String::from),
            created_ms: at,
            ..Message::new(role, None, id)
        }
    }

    fn tree() -> HistoryTree {
        HistoryTree::from_messages(vec![
            msg("a2", Some("u1"), Role::Assistant, 2),
            msg("u1", None, Role::User, 1),
            msg("u1b", None, Role::User, 3),
            msg("a2b", Some("u1b"), Role::Assistant, 4),
        ])
    }

    #[test]
    fn path_runs_from_root_to_leaf() {
        let tree = tree();
        let ids: Vec<&str> = tree
            .path_to(Some("a2"))
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, ["u1", "a2"]);
    }

    #[test]
    fn edited_first_message_is_a_sibling_root() {
        let tree = tree();
        assert_eq!(tree.siblings("u1b"), ["u1", "u1b"]);
        assert_eq!(tree.newest_leaf_from("u1").as_deref(), Some("a2"));
        assert_eq!(tree.newest_leaf_from("u1b").as_deref(), Some("a2b"));
    }

    #[test]
    fn last_user_on_path_skips_assistant_messages() {
        let tree = tree();
        assert_eq!(
            tree.last_user_on_path(Some("a2b")).map(|m| m.id.as_str()),
            Some("u1b")
        );
        assert!(tree.last_user_on_path(None).is_none());
    }
}
