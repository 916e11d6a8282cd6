//! A browser's layout of the page, when the caller has a browser: what to ask it (a script to
//! evaluate in the page, the page's width, its images as `data:` URLs) and how its answer
//! becomes [`Measured`] boxes and the fonts and colours it computed. Running the browser is
//! the caller's part.

use base64::Engine;
use serde_json::Value;

use crate::css;
use crate::document::{Document, Element, Node};
use crate::images::Loader;
use crate::layout::Measured;
use crate::style::{self, Fill};

/// The script to evaluate in the page once it has settled; its answer goes to [`adopt`].
pub const SCRIPT: &str = "() => ({ tailwind: typeof window.tailwind !== 'undefined', \
    slides: [...document.querySelectorAll('.ppt-slide')].map((slide) => { \
    const s = slide.getBoundingClientRect(); \
    return [...slide.querySelectorAll('*')].map((el) => { const r = el.getBoundingClientRect(); \
    const c = getComputedStyle(el); \
    return { rect: [r.left - s.left, r.top - s.top, r.width, r.height], \
      font_size: parseFloat(c.fontSize) || 16, color: c.color, weight: parseInt(c.fontWeight, 10) || 400, \
      italic: c.fontStyle === 'italic' || c.fontStyle === 'oblique', family: c.fontFamily, \
      background: c.backgroundColor }; }); }) })";

/// What a browser computed for one element: its box and its font and colours.
#[derive(Debug, Clone, serde::Deserialize)]
struct Computed {
    rect: [f32; 4],
    font_size: f32,
    color: String,
    weight: u16,
    italic: bool,
    family: String,
    background: String,
}

/// The images of the slides (`<img>` sources) that load, with their bytes: the browser needs
/// them to size them, and the deck can take them from here too.
pub fn read_images(document: &Document, load: Loader<'_>) -> Vec<(String, Vec<u8>)> {
    fn walk(element: &Element, out: &mut Vec<String>) {
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

/// The images of [`read_images`] as `data:` URLs by source, for the formats a browser shows.
pub fn data_urls(images: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    images
        .iter()
        .filter_map(|(src, bytes)| Some((src.clone(), data_url(bytes)?)))
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

/// The width in CSS pixels to lay the page out at: the slides' width with room to spare.
pub fn page_width(document: &Document) -> u32 {
    document
        .slides
        .first()
        .and_then(|s| s.root.style.width)
        .and_then(|w| w.resolve(1024.0, 16.0))
        .unwrap_or(1024.0) as u32
        + 200
}

/// Reads the browser's answer to [`SCRIPT`]: each element takes the font and colours the
/// browser computed for it, and the boxes come back for [`layout`](crate::layout). An error
/// (for the author) when the answer cannot be used.
pub fn adopt(document: &mut Document, answer: &Value) -> Result<Measured, String> {
    if document.tailwind && answer["tailwind"] != Value::Bool(true) {
        // The page's Tailwind script did not load (no network): the browser's layout would
        // miss every Tailwind class, which our own cascade knows.
        return Err("the page's Tailwind script could not be loaded".into());
    }
    let computed: Vec<Vec<Computed>> = serde_json::from_value(answer["slides"].clone())
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
        adopt_element(&mut slide.root, boxes);
    }
    Ok(Measured(
        computed
            .into_iter()
            .map(|boxes| boxes.into_iter().map(|b| b.rect).collect())
            .collect(),
    ))
}

/// Takes each element's font and colours from what the browser computed for it.
fn adopt_element(element: &mut Element, boxes: &[Computed]) {
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
        if let (Some(color), None | Some(Fill::Solid(_))) = (background, &style.background) {
            style.background = Some(Fill::Solid(color));
        }
    }
    for child in &mut element.children {
        if let Node::Element(child) = child {
            adopt_element(child, boxes);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::css::Color;

    fn computed(rect: [f32; 4], color: &str, background: &str) -> Value {
        json!({"rect": rect, "font_size": 20.0, "color": color, "weight": 700, "italic": true,
               "family": "\"Georgia\", serif", "background": background})
    }

    #[test]
    fn the_answer_gives_boxes_by_document_order_and_the_computed_fonts_and_colours() {
        let mut document =
            crate::parse("<div class=\"ppt-slide\"><h1>Title</h1><p>Text</p></div>").unwrap();
        let answer = json!({"tailwind": false, "slides": [[
            computed([10.0, 20.0, 300.0, 40.0], "rgb(255, 0, 0)", "rgba(0, 0, 0, 0)"),
            computed([10.0, 80.0, 300.0, 20.0], "rgb(0, 0, 255)", "rgb(0, 128, 0)"),
        ]]});
        let measured = adopt(&mut document, &answer).unwrap();
        assert_eq!(
            measured.0,
            vec![vec![[10.0, 20.0, 300.0, 40.0], [10.0, 80.0, 300.0, 20.0]]]
        );
        let root = &document.slides[0].root;
        let elements: Vec<&Element> = root.elements().collect();
        let (h1, p) = (&elements[0].style, &elements[1].style);
        assert_eq!((h1.font_size, h1.weight, h1.italic), (20.0, 700, true));
        assert_eq!(h1.font_family.as_deref(), Some("Georgia"));
        assert_eq!(h1.color, Color::rgb(255, 0, 0));
        assert!(h1.background.is_none(), "a transparent background is none");
        assert_eq!(p.background, Some(Fill::Solid(Color::rgb(0, 128, 0))));
    }

    #[test]
    fn answers_that_cannot_be_used_are_refused() {
        let page = "<script src=\"https://cdn.tailwindcss.com\"></script>\
            <div class=\"ppt-slide\"><p>One</p></div><div class=\"ppt-slide\"><p>Two</p></div>";
        let mut document = crate::parse(page).unwrap();
        let slide = || json!([computed([0.0; 4], "black", "white")]);
        assert_eq!(
            adopt(
                &mut document,
                &json!({"tailwind": false, "slides": [slide(), slide()]})
            )
            .unwrap_err(),
            "the page's Tailwind script could not be loaded"
        );
        assert_eq!(
            adopt(
                &mut document,
                &json!({"tailwind": true, "slides": [slide()]})
            )
            .unwrap_err(),
            "the browser found 1 slides where the page has 2"
        );
        let unreadable = adopt(&mut document, &json!({"tailwind": true, "slides": "none"}));
        assert!(unreadable
            .unwrap_err()
            .starts_with("the browser's layout could not be read"),);
        assert!(adopt(
            &mut document,
            &json!({"tailwind": true, "slides": [slide(), slide()]})
        )
        .is_ok());
    }
}
