//! `slides_generator`: HTML whose `.ppt-slide` sections are 1024 x 576 px slides becomes a
//! 16:9 PowerPoint deck in the workspace's `output/` folder.
//!
//! The page is parsed and styled (its style sheets, Tailwind classes and inline styles), each
//! slide laid out as a browser would place its blocks, flex rows and grids, and written as
//! PresentationML by our own OOXML writer: headings, paragraphs and (nested) lists as editable
//! text with their fonts and colours, images from the workspace or `data:` URLs, tables,
//! backgrounds and speaker notes. The result names the file and carries the slide outline
//! (`ppt_slides`) for clients.

mod css;
mod deck;
mod document;
mod images;
mod layout;
mod pptx;
mod style;
mod tailwind;
mod text;
mod zip;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use base64::Engine;

use super::file_io::{blocking, replace_file};
use super::{Tool, ToolContext, ToolError, ToolOutput, TypedTool};
use crate::workspace::uploads::size_display;
use crate::workspace::Workspace;

/// The largest HTML file read.
const MAX_HTML_BYTES: u64 = 20 << 20;
/// The largest image embedded.
const MAX_IMAGE_BYTES: u64 = 50 << 20;
/// The most slides in one deck.
const MAX_SLIDES: usize = 500;

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
    outline: Vec<deck::Outline>,
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
        let browser = ctx.web.browsers.available();
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

/// HTML to a deck, images read through `load`.
/// The page parsed and cut into slides; an error when it has none or too many.
fn parse(html: &str) -> Result<document::Document, String> {
    let document = document::parse(html);
    if document.slides.is_empty() {
        return Err(
            "the HTML has no slides: put each slide in an element with class \
                    \"ppt-slide\" (for example <div class=\"ppt-slide\">...</div>)"
                .to_owned(),
        );
    }
    if document.slides.len() > MAX_SLIDES {
        return Err(format!(
            "the HTML has {} slides; a deck holds at most {MAX_SLIDES}",
            document.slides.len()
        ));
    }
    Ok(document)
}

/// The images of the slides (`<img>` sources) that load, with their bytes.
fn read_images(document: &document::Document, load: images::Loader<'_>) -> Vec<(String, Vec<u8>)> {
    fn walk(element: &document::Element, out: &mut Vec<String>) {
        if let Some(src) = &element.src {
            if element.tag == "img" && !src.starts_with("data:") && !out.contains(src) {
                out.push(src.clone());
            }
        }
        for child in element.elements() {
            walk(child, out);
        }
    }
    let mut sources = Vec::new();
    for slide in &document.slides {
        walk(&slide.root, &mut sources);
    }
    sources
        .into_iter()
        .filter_map(|src| Some((src.clone(), load(&src).ok()?)))
        .collect()
}

/// An image as a `data:` URL, for the formats a browser shows.
fn data_url(bytes: &[u8]) -> Option<String> {
    let mime = match imagesize::image_type(bytes).ok()? {
        imagesize::ImageType::Png => "image/png",
        imagesize::ImageType::Jpeg => "image/jpeg",
        imagesize::ImageType::Gif => "image/gif",
        imagesize::ImageType::Webp => "image/webp",
        _ => return None,
    };
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    Some(format!("data:{mime};base64,{data}"))
}

/// Where Chromium places every element of every slide (its layout of the page, at the slides'
/// width), so the deck matches the page as rendered.
async fn measure(
    ctx: &ToolContext,
    html: &str,
    document: &mut document::Document,
    images: &[(String, Vec<u8>)],
) -> Result<layout::Measured, String> {
    const MEASURE: &str = "() => ({ tailwind: typeof window.tailwind !== 'undefined', \
        slides: [...document.querySelectorAll('.ppt-slide')].map((slide) => { \
        const s = slide.getBoundingClientRect(); \
        return [...slide.querySelectorAll('*')].map((el) => { const r = el.getBoundingClientRect(); \
        const c = getComputedStyle(el); \
        return { rect: [r.left - s.left, r.top - s.top, r.width, r.height], \
          font_size: parseFloat(c.fontSize) || 16, color: c.color, weight: parseInt(c.fontWeight, 10) || 400, \
          italic: c.fontStyle === 'italic' || c.fontStyle === 'oblique', family: c.fontFamily, \
          background: c.backgroundColor }; }); }) })";
    let urls: Vec<(String, String)> = images
        .iter()
        .filter_map(|(src, bytes)| Some((src.clone(), data_url(bytes)?)))
        .collect();
    let width = document
        .slides
        .first()
        .and_then(|s| s.root.style.width)
        .and_then(|w| w.resolve(1024.0, 16.0))
        .unwrap_or(1024.0) as u32
        + 200;
    let answer = ctx
        .web
        .browsers
        .render(&ctx.resources.browser, html, width, &urls, MEASURE)
        .await?;
    if document.tailwind && answer["tailwind"] != Value::Bool(true) {
        // The page's Tailwind script did not load (no network): the browser's layout would
        // miss every Tailwind class, which our own cascade knows.
        return Err("the page's Tailwind script could not be loaded".into());
    }
    let computed: Vec<Vec<layout::Computed>> = serde_json::from_value(answer["slides"].clone())
        .map_err(|e| format!("the browser's layout could not be read ({e})"))?;
    if computed.len() != document.slides.len() {
        return Err(format!(
            "the browser found {} slides where the page has {}",
            computed.len(),
            document.slides.len()
        ));
    }
    // Fonts and colours as the browser computed them.
    for (slide, boxes) in document.slides.iter_mut().zip(&computed) {
        adopt(&mut slide.root, boxes);
    }
    Ok(computed
        .into_iter()
        .map(|boxes| boxes.into_iter().map(|b| b.rect).collect())
        .collect())
}

/// Takes each element's font and colours from what the browser computed for it.
fn adopt(element: &mut document::Element, boxes: &[layout::Computed]) {
    if let Some(computed) = element.order.and_then(|i| boxes.get(i)) {
        let style = &mut element.style;
        style.font_size = computed.font_size;
        style.weight = computed.weight;
        style.italic = computed.italic;
        if let Some(color) = css::color(&computed.color) {
            style.color = color;
        }
        if let Some(family) = style::family(&computed.family) {
            style.font_family = Some(family);
        }
        let background = css::color(&computed.background).filter(|c| !c.is_transparent());
        if let (Some(color), None | Some(style::Fill::Solid(_))) = (background, &style.background) {
            style.background = Some(style::Fill::Solid(color));
        }
    }
    for child in &mut element.children {
        if let document::Node::Element(child) = child {
            adopt(child, boxes);
        }
    }
}

/// A parsed page to a deck, images read through `load`, boxes placed as `measured` says when
/// a browser laid the page out.
fn convert(
    document: document::Document,
    load: images::Loader<'_>,
    measured: Option<layout::Measured>,
) -> Result<Converted, String> {
    let (deck, warnings) = layout::layout(document, load, measured);
    let pptx = pptx::write(&deck)?;
    Ok(Converted {
        pptx,
        outline: deck.slides.iter().map(|s| s.outline.clone()).collect(),
        title: deck.title.clone(),
        size: (deck.width, deck.height),
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
    let decoded = String::from_utf8_lossy(&images::percent_decode(source)).into_owned();
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
