//! Laying HTML out in the browser for the slides: a page of its own in the session's context,
//! its requests checked by the network guard, measured by a script once it has settled.

use serde_json::{json, Value};

use super::{evaluate, BrowserSession, Browsers, COMMAND_TIMEOUT};

impl Browsers {
    /// Lays `html` out in a page of its own (in the session's context, through the guard) at
    /// `width` px, with the images of `images` (source as written, data URL) in place, and
    /// returns what `measure` (a script evaluated in the page when it has settled) returns.
    pub async fn render(
        &self,
        session: &BrowserSession,
        html: &str,
        width: u32,
        images: &[(String, String)],
        measure: &str,
    ) -> Result<Value, String> {
        let mut context = self.context(session).await?;
        let index = self.open_page(&mut context, "okcvm:render").await?;
        let page = context.pages[index].clone();
        let cdp = context.cdp.clone();
        let result = async {
            cdp.call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
                Some(&page.session),
                COMMAND_TIMEOUT,
            )
            .await?;
            let tree = cdp.call("Page.getFrameTree", json!({}), Some(&page.session), COMMAND_TIMEOUT).await?;
            let frame = tree.pointer("/frameTree/frame/id").and_then(Value::as_str).ok_or("the page has no frame")?.to_owned();
            cdp.call("Page.setDocumentContent", json!({"frameId": frame, "html": html}), Some(&page.session), self.page_timeout())
                .await?;
            let map: serde_json::Map<String, Value> = images.iter().map(|(src, url)| (src.clone(), json!(url))).collect();
            let expression = format!(
                "(async () => {{ const map = {}; for (const img of document.images) {{ const url = map[img.getAttribute('src')]; if (url) img.src = url; }}                  await Promise.all([...document.images].map((img) => img.decode().catch(() => null)));                  if (document.fonts) await document.fonts.ready;                  await new Promise((resolve) => setTimeout(resolve, 400));                  return ({measure})(); }})()",
                Value::Object(map)
            );
            evaluate(&cdp, &page.session, &expression).await
        }
        .await;
        page.stop.cancel();
        let _ = cdp
            .call(
                "Target.closeTarget",
                json!({"targetId": page.target}),
                None,
                COMMAND_TIMEOUT,
            )
            .await;
        context.pages.remove(index);
        context.current = context.current.and_then(|c| match c.cmp(&index) {
            std::cmp::Ordering::Less => Some(c),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(c - 1),
        });
        result
    }
}
