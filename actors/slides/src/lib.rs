//! HTML slides to PowerPoint: a page whose `.ppt-slide` sections are 1024 x 576 px slides
//! becomes a 16:9 .pptx deck with editable text.
//!
//! The pipeline is three calls:
//!
//! 1. [`parse`]: the page parsed with a standards-compliant parser, styled by the cascade
//!    (browser defaults, its style sheets, Tailwind classes, inline styles) and cut into slides,
//!    each a tree of styled elements with its speaker notes apart.
//! 2. [`layout`]: each slide placed as a browser would place its blocks, lists, flex rows and
//!    columns, grids, tables, images and absolutely positioned boxes, as shapes in slide pixels.
//!    Text is measured from average glyph widths, so positions are close rather than exact;
//!    a caller with a browser can lay the page out there first ([`browser`]) and the boxes go
//!    where the browser put them.
//! 3. [`write_pptx`]: the deck written as PresentationML by our own OOXML and zip writers
//!    (headings, paragraphs and nested lists as text with their fonts and colours, pictures,
//!    tables, backgrounds and notes).
//!
//! The engine reads no files: images the page names come through the caller's [`Loader`].

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

pub mod browser;

pub use deck::{Deck, Outline};
pub use document::Document;
pub use images::{percent_decode, Loader};
pub use layout::{layout, Measured};

/// The most slides in one deck.
const MAX_SLIDES: usize = 500;

/// The page parsed and cut into slides; an error (for the author) when it has none or more
/// than a deck holds.
pub fn parse(html: &str) -> Result<Document, String> {
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

/// The deck as a .pptx file; an error when it cannot be packaged (a deck too large for a zip
/// archive).
pub fn write_pptx(deck: &Deck) -> Result<Vec<u8>, String> {
    pptx::write(deck)
}

#[cfg(test)]
mod tests;
