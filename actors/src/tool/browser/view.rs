//! A page's state as the model reads it: from the browser (with a screenshot saved for the
//! console), or from a page fetched without one.

use base64::Engine;
use serde_json::json;

use super::failed;
use crate::net::browser::{evaluate, Context, FetchedPage, COMMAND_TIMEOUT};
use crate::sync::lock;
use crate::tool::file_io::{blocking, replace_file};
use crate::tool::{ToolContext, ToolError, ToolOutput};

/// The page's state as the model reads it, with a screenshot saved for the console.
pub(super) async fn state(
    ctx: &ToolContext,
    context: &Context,
    index: usize,
    note: &str,
) -> Result<ToolOutput, ToolError> {
    let page = &context.pages[index];
    let cdp = &context.cdp;
    let max = ctx.web.browsers.settings().max_text_chars;
    let state = evaluate(cdp, &page.session, &format!("window.__okcvm.state({max})"))
        .await
        .map_err(failed)?;
    let shot = cdp
        .call(
            "Page.captureScreenshot",
            json!({"format": "png"}),
            Some(&page.session),
            COMMAND_TIMEOUT,
        )
        .await
        .ok()
        .and_then(|s| s["data"].as_str().map(str::to_owned))
        .and_then(|data| base64::engine::general_purpose::STANDARD.decode(data).ok());
    let screenshot = match shot {
        Some(bytes) => {
            let path = format!("{}/browser/page-{}.png", crate::workspace::MOUNT, index + 1);
            let (workspace, target) = (ctx.workspace.clone(), path.clone());
            blocking(move || replace_file(&workspace, &target, &bytes))
                .await
                .ok()
        }
        None => None,
    };
    let mut text = String::new();
    if !note.is_empty() {
        text.push_str(note);
        text.push_str("\n\n");
    }
    let string = |key: &str| state[key].as_str().unwrap_or_default().to_owned();
    text.push_str(&format!(
        "Page: {}\nURL: {}\n",
        string("title"),
        string("url")
    ));
    text.push_str(&format!(
        "Scrolled to {} of {} px (the view is {} px high)\n",
        state["scroll_y"], state["scroll_height"], state["viewport_height"]
    ));
    let elements = state["elements"].as_array().cloned().unwrap_or_default();
    text.push_str("\nInteractive elements in view (use their numbers with browser_click and browser_input):\n");
    if elements.is_empty() {
        text.push_str("(none)\n");
    }
    for element in &elements {
        let tag = element["tag"].as_str().unwrap_or_default();
        let mut line = format!("[{}] {tag}", element["index"]);
        if let Some(kind) = element["type"].as_str() {
            line.push_str(&format!("[{kind}]"));
        }
        if let Some(label) = element["text"].as_str().filter(|t| !t.is_empty()) {
            line.push_str(&format!(" \"{label}\""));
        }
        for key in ["name", "placeholder"] {
            if let Some(value) = element[key].as_str() {
                line.push_str(&format!(" {key}={value:?}"));
            }
        }
        if let Some(href) = element["href"].as_str() {
            line.push_str(&format!(" -> {href}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str("\nContent:\n");
    text.push_str(&string("text"));
    let refused = std::mem::take(&mut *lock(&page.refused));
    if !refused.is_empty() {
        text.push_str("\n\nBlocked by the network guard:\n");
        for r in refused.iter().take(10) {
            text.push_str(&format!("- {r}\n"));
        }
    }
    let mut data =
        json!({"url": state["url"], "title": state["title"], "elements": elements.len()});
    if let Some(path) = screenshot {
        data["file"] = json!(path);
        data["media"] = json!("image");
    }
    Ok(ToolOutput {
        text,
        images: Vec::new(),
        data: Some(data),
    })
}

/// A fetched page as the model reads it, from its current view.
pub(super) fn fetched(ctx: &ToolContext, page: &FetchedPage, note: &str) -> ToolOutput {
    let max = ctx.web.browsers.settings().max_text_chars;
    let mut text = String::new();
    if !note.is_empty() {
        text.push_str(note);
        text.push_str("\n\n");
    }
    text.push_str(&format!("Page: {}\nURL: {}\n", page.title, page.url));
    text.push_str(
        "No browser runs here (Chromium is not installed), so the page was fetched and read \
         without running its scripts. Links are listed but cannot be clicked: visit their \
         address instead.\n",
    );
    if !page.links.is_empty() {
        text.push_str("\nLinks:\n");
        for (label, href) in page.links.iter().take(50) {
            text.push_str(&format!("- {label} -> {href}\n"));
        }
    }
    let mut shown = String::new();
    let mut last = page.top;
    for (i, line) in page.lines.iter().enumerate().skip(page.top) {
        if shown.len() + line.len() > max {
            break;
        }
        shown.push_str(line);
        shown.push('\n');
        last = i + 1;
    }
    text.push_str(&format!(
        "\nContent (lines {} to {} of {}):\n{shown}",
        (page.top + 1).min(page.lines.len()),
        last,
        page.lines.len()
    ));
    ToolOutput {
        text,
        images: Vec::new(),
        data: Some(json!({"url": page.url, "title": page.title, "browser": false})),
    }
}
