//! Outbound HTTP for the networked tools: one client whose every connection, redirect
//! included, is checked against the network guard, with size and time limits on each download.

mod guard;
mod proxy;

pub use guard::{AllowRule, Fetched, GuardError, NetGuard};
pub use proxy::ProxyServer;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use crate::config::{MediaSettings, Settings};
use crate::SessionKey;

/// What the networked tools share: the guarded client, the browser, the media endpoints
/// (which can change while the server runs, through `POST /api/config`), and each session's
/// citations. Providers that cannot change are read from the settings.
pub struct Web {
    pub guard: NetGuard,
    /// The shared headless Chromium of the browser tools.
    pub browsers: std::sync::Arc<crate::tool::browser::Browsers>,
    media: RwLock<MediaSettings>,
    citations: Mutex<HashMap<SessionKey, Vec<String>>>,
}

impl Web {
    /// The shared client behind `guard`, and a browser that runs in `jail`.
    pub fn new(
        settings: &Settings,
        guard: NetGuard,
        jail: std::sync::Arc<crate::workspace::Jail>,
    ) -> Result<Self, String> {
        Ok(Self {
            browsers: std::sync::Arc::new(crate::tool::browser::Browsers::new(
                settings.browser.clone(),
                guard.clone(),
                jail,
            )),
            guard,
            media: RwLock::new(settings.media.clone()),
            citations: Mutex::default(),
        })
    }

    /// The media endpoints in force.
    pub fn media(&self) -> MediaSettings {
        self.media
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the media endpoints (from `POST /api/config`).
    pub fn set_media(&self, media: MediaSettings) {
        *self
            .media
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = media;
    }

    /// Numbers a URL as a citation of the session: the same URL keeps its number.
    pub fn cite(&self, session: &SessionKey, url: &str) -> usize {
        let mut citations = self
            .citations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = citations.entry(session.clone()).or_default();
        match list.iter().position(|u| u == url) {
            Some(i) => i + 1,
            None => {
                list.push(url.to_owned());
                list.len()
            }
        }
    }

    /// Drops a session's browser context, fetched pages and citations (its history was
    /// cleared).
    pub fn forget(&self, session: &SessionKey) {
        if let Ok(mut citations) = self.citations.lock() {
            citations.remove(session);
        }
        let (browsers, key) = (self.browsers.clone(), session.clone());
        tokio::spawn(async move { browsers.close(&key).await });
    }

    /// The URL a citation number stands for in the session.
    pub fn citation(&self, session: &SessionKey, id: usize) -> Option<String> {
        let citations = self
            .citations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        citations.get(session)?.get(id.checked_sub(1)?).cloned()
    }
}
