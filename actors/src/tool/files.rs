//! `read_file`, `write_file` and `edit_file`, one file each.
//!
//! Each opens the agent's path through the workspace, which refuses anything outside it or
//! through a symbolic link in the same step as the open, and runs its file work on the blocking
//! pool. Every error names the path as the agent sees it and says what to do. The session's
//! resources remember which files the model has seen: an existing file is only changed once
//! it has been read.

use std::sync::Arc;

use super::Tool;

mod edit;
mod read;
mod write;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(read::ReadFile),
        Arc::new(write::WriteFile),
        Arc::new(edit::EditFile),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_tools_carry_their_manifest_names() {
        let names: Vec<_> = super::tools().iter().map(|t| t.name()).collect();
        assert_eq!(names, ["read_file", "write_file", "edit_file"]);
    }
}
