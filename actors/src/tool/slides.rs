//! `slides_generator`: HTML whose `.ppt-slide` sections are 1024 x 576 px slides becomes a
//! 16:9 PowerPoint deck in the workspace's `output/` folder.
//!
//! The page is parsed and styled (its style sheets, Tailwind classes and inline styles), each
//! slide laid out as a browser would place its blocks, flex rows and grids, and written as
//! PresentationML by our own OOXML writer: headings, paragraphs and (nested) lists as editable
//! text with their fonts and colours, images from the workspace or `data:` URLs, tables,
//! backgrounds and speaker notes. The result names the file and carries the slide outline
//! (`ppt_slides`) for clients.
//!
//! The engine is the `okcvm_slides` crate; here the page and its images are read through the
//! workspace, and laid out by the session's browser when there is one.

use std::sync::Arc;

use okcvm_slides::browser::{self, read_images};
use okcvm_slides::{parse, Document, Loader, Measured, Outline};
use serde::Deserialize;
use serde_json::json;

use super::file_io::{blocking, replace_file};
use super::{Tool, ToolContext, ToolError, ToolOutput, TypedTool};
use crate::workspace::uploads::size_display;
use crate::workspace::Workspace;

/// The largest HTML file read.
const MAX_HTML_BYTES: u64 = 20 << 20;
/// The largest image embedded.
const MAX_IMAGE_BYTES: u64 = 50 << 20;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(SlidesGenerator)]
}

struct SlidesGenerator;

#[derive(Deserialize)]
struct Args {
    file_path: Option<String>,
    content: Option<String>,
}

/// What converting made.
struct Converted {
    pptx: Vec<u8>,
    outline: Vec<Outline>,
    title: Option<String>,
    /// The slides' size in CSS pixels.
    size: (f32, f32),
    warnings: Vec<String>,
}

impl TypedTool for SlidesGenerator {
    const NAME: &'static str = "slides_generator";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let workspace = ctx.workspace.clone();
        let (html, base, stem) = match (args.file_path, args.content) {
            (Some(_), Some(_)) => {
                return Err(ToolError::InvalidArguments(
                    "give either file_path or content, not both".into(),
                ))
            }
            (Some(path), None) => {
                let workspace = workspace.clone();
                blocking(move || read_html(&workspace, &path)).await?
            }
            (None, Some(content)) => (content, crate::workspace::MOUNT.to_owned(), None),
            (None, None) => {
                return Err(ToolError::InvalidArguments(
                    "give file_path (an HTML file in the workspace) or content (the HTML)".into(),
                ))
            }
        };
        // The page read; with a browser to lay it out, its images read now (the browser
        // needs them to size them, and the deck takes them from here too).
        let browser = ctx.web.browsers.available().await;
        let (reader, page_base, page) = (workspace.clone(), base.clone(), html.clone());
        let (mut document, images) = blocking(move || {
            let document = parse(&page).map_err(ToolError::Failed)?;
            let images = if browser {
                read_images(&document, &|source| load_image(&reader, &page_base, source))
            } else {
                Vec::new()
            };
            Ok((document, images))
        })
        .await?;
        let mut measured = None;
        let mut layout_note = None;
        if browser {
            match measure(ctx, &html, &mut document, &images).await {
                Ok(m) => measured = Some(m),
                Err(e) => {
                    layout_note = Some(format!(
                        "Chromium could not lay the page out ({e}): positions are estimated"
                    ))
                }
            }
        }
        let converter = workspace.clone();
        let mut converted = blocking(move || {
            let load = |source: &str| match images.iter().find(|(s, _)| s == source) {
                Some((_, bytes)) => Ok(bytes.clone()),
                None => load_image(&converter, &base, source),
            };
            convert(document, &load, measured).map_err(ToolError::Failed)
        })
        .await?;
        converted.warnings.extend(layout_note);

        let name = stem
            .or_else(|| converted.title.as_deref().map(slug))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "presentation".to_owned());
        let agent_path = format!("{}/output/{name}.pptx", crate::workspace::MOUNT);
        let bytes = converted.pptx.len() as u64;
        let (writer, target, data) = (workspace.clone(), agent_path.clone(), converted.pptx);
        blocking(move || replace_file(&writer, &target, &data).map(drop)).await?;

        let count = converted.outline.len();
        let (width, height) = converted.size;
        let shape = if (width / height - 16.0 / 9.0).abs() < 0.01 {
            "16:9".to_owned()
        } else {
            format!("{width} x {height} px")
        };
        let mut text = format!(
            "Created {agent_path}: {count} slide{} ({shape}), {}.",
            if count == 1 { "" } else { "s" },
            size_display(bytes)
        );
        for (i, slide) in converted.outline.iter().enumerate() {
            let title = if slide.title.is_empty() {
                "(no title)"
            } else {
                &slide.title
            };
            text.push_str(&format!("\n{}. {title}", i + 1));
            if !slide.bullets.is_empty() {
                text.push_str(&format!(
                    " ({} point{})",
                    slide.bullets.len(),
                    if slide.bullets.len() == 1 { "" } else { "s" }
                ));
            }
        }
        if !converted.warnings.is_empty() {
            text.push_str("\nNot carried over:");
            for warning in &converted.warnings {
                text.push_str(&format!("\n- {warning}"));
            }
        }
        Ok(ToolOutput {
            text,
            images: Vec::new(),
            data: Some(json!({
                "file": agent_path,
                "bytes": bytes,
                "slides": count,
                "warnings": converted.warnings,
                "ppt_slides": converted.outline,
            })),
        })
    }
}

/// Where Chromium places every element of every slide (its layout of the page, at the slides'
/// width), so the deck matches the page as rendered.
async fn measure(
    ctx: &ToolContext,
    html: &str,
    document: &mut Document,
    images: &[(String, Vec<u8>)],
) -> Result<Measured, String> {
    let urls = browser::data_urls(images);
    let width = browser::page_width(document);
    let answer = ctx
        .web
        .browsers
        .render(&ctx.resources.browser, html, width, &urls, browser::SCRIPT)
        .await?;
    browser::adopt(document, &answer)
}

/// A parsed page to a deck, images read through `load`, boxes placed as `measured` says when
/// a browser laid the page out.
fn convert(
    document: Document,
    load: Loader<'_>,
    measured: Option<Measured>,
) -> Result<Converted, String> {
    let (deck, warnings) = okcvm_slides::layout(document, load, measured);
    let pptx = okcvm_slides::write_pptx(&deck)?;
    Ok(Converted {
        pptx,
        outline: deck.outline(),
        title: deck.title().map(str::to_owned),
        size: deck.size(),
        warnings,
    })
}

/// A file name from a title: letters, digits and dashes.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Reads a workspace file the agent named, refusing anything over `limit` bytes.
fn read_limited(
    workspace: &Workspace,
    agent_path: &str,
    limit: u64,
) -> Result<(Vec<u8>, String), ToolError> {
    super::file_io::read_limited(workspace, agent_path, limit, |shown, size| {
        format!(
            "{shown} is {}, over the {} a deck takes",
            size_display(size),
            size_display(limit)
        )
    })
}

/// The HTML file, the folder its relative image paths start from, and its name without
/// extension.
fn read_html(
    workspace: &Workspace,
    agent_path: &str,
) -> Result<(String, String, Option<String>), ToolError> {
    let (bytes, shown) = read_limited(workspace, agent_path, MAX_HTML_BYTES)?;
    let base = shown.rsplit_once('/').map_or_else(
        || crate::workspace::MOUNT.to_owned(),
        |(dir, _)| dir.to_owned(),
    );
    let stem = std::path::Path::new(&shown)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    Ok((String::from_utf8_lossy(&bytes).into_owned(), base, stem))
}

/// An image the page refers to: an absolute workspace path, or one relative to `base`.
fn load_image(workspace: &Workspace, base: &str, source: &str) -> Result<Vec<u8>, String> {
    let source = source.strip_prefix("file://").unwrap_or(source);
    let source = source.split(['?', '#']).next().unwrap_or(source);
    let decoded = String::from_utf8_lossy(&okcvm_slides::percent_decode(source)).into_owned();
    let path = if decoded.starts_with('/') {
        decoded
    } else {
        format!("{base}/{decoded}")
    };
    read_limited(workspace, &path, MAX_IMAGE_BYTES)
        .map(|(bytes, _)| bytes)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
