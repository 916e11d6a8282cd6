//! Outbound HTTP for the networked tools: one client whose every connection, redirect
//! included, is checked against the network guard, with size and time limits on each download;
//! and the headless browser, whose every request goes through the same guard.

pub mod browser;
mod guard;
mod proxy;
pub mod tls;

pub use guard::{AllowRule, Fetched, GuardError, NetGuard};
pub use proxy::ProxyServer;

use std::sync::{Arc, RwLock};

use crate::config::{MediaSettings, Settings};
use crate::sync;

/// What the networked tools share: the guarded client, the browser and the media endpoints
/// (which can change while the server runs, through `POST /api/config`). Providers that cannot
/// change are read from the settings; what belongs to one session is in its resources.
pub struct Web {
    pub guard: NetGuard,
    /// The shared headless Chromium of the browser tools.
    pub browsers: Arc<browser::Browsers>,
    media: RwLock<MediaSettings>,
}

impl Web {
    /// The shared client behind `guard`, and a browser that runs in `jail`.
    pub fn new(
        settings: &Settings,
        guard: NetGuard,
        jail: Arc<crate::workspace::Jail>,
    ) -> Result<Self, String> {
        Ok(Self {
            browsers: Arc::new(browser::Browsers::new(
                settings.browser.clone(),
                guard.clone(),
                jail,
            )),
            guard,
            media: RwLock::new(settings.media.clone()),
        })
    }

    /// The media endpoints in force.
    pub fn media(&self) -> MediaSettings {
        sync::read(&self.media).clone()
    }

    /// Replaces the media endpoints (from `POST /api/config`).
    pub fn set_media(&self, media: MediaSettings) {
        *sync::write(&self.media) = media;
    }
}
