//! What one session's tools keep between calls. The session actor makes a
//! [`SessionResources`] when it starts, hands it to every call in the `ToolContext`, makes a
//! fresh one when its history is cleared, and drops it when it stops (hibernating, failing or
//! shutting down). Dropping it is the teardown: the Python interpreter is killed, the browser
//! context closed, citations, pages and the files read forgotten. A call still running holds
//! it until the call ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::python::kernel::Kernel;
use crate::net::browser::BrowserSession;
use crate::sync::lock;

/// One session's citations, pages, browser context, Python interpreter and files read.
#[derive(Default)]
pub struct SessionResources {
    /// The URLs search results were numbered with, in order (citation 1 first): the browser
    /// tools open a page by its number.
    citations: Mutex<Vec<String>>,
    /// Paths (relative to the workspace) of files `read_file` has returned or the file tools
    /// wrote: `write_file` and `edit_file` refuse to change a file the model has not seen.
    files_read: Mutex<HashSet<PathBuf>>,
    /// The `ipython` interpreter, started on first use; a call holds it while its cell runs.
    pub(crate) kernel: tokio::sync::Mutex<Option<Kernel>>,
    /// The session's browser context and the pages it fetched without a browser.
    pub(crate) browser: BrowserSession,
}

impl SessionResources {
    /// Numbers a URL as a citation: the same URL keeps its number.
    pub(crate) fn cite(&self, url: &str) -> usize {
        let mut citations = lock(&self.citations);
        match citations.iter().position(|u| u == url) {
            Some(i) => i + 1,
            None => {
                citations.push(url.to_owned());
                citations.len()
            }
        }
    }

    /// The URL a citation number stands for.
    pub(crate) fn citation(&self, id: usize) -> Option<String> {
        lock(&self.citations).get(id.checked_sub(1)?).cloned()
    }

    /// Records that the model has seen (or written) the file at `relative`.
    pub(crate) fn mark_read(&self, relative: PathBuf) {
        lock(&self.files_read).insert(relative);
    }

    /// Whether the model has seen the file at `relative`.
    pub(crate) fn was_read(&self, relative: &Path) -> bool {
        lock(&self.files_read).contains(relative)
    }

    /// Every file the model has seen.
    #[cfg(test)]
    pub(crate) fn files_read(&self) -> HashSet<PathBuf> {
        lock(&self.files_read).clone()
    }
}

#[cfg(test)]
mod tests;
