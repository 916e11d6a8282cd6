//! Layout: each slide's styled tree placed the way a browser's block, flex and grid layout
//! would place it, as shapes in slide pixels. Text sizes come from average glyph widths (no
//! browser runs here), so positions are close rather than exact.
//!
//! One `Layouter` walks a slide. Here are the entry point, the boxes passed down (an `Area`
//! to lay content out in, a `Place` for a box) and the walk's shared state; each kind of
//! layout is a file of its own: block flow and lists (`flow`), intrinsic widths
//! (`intrinsic`), flex rows and columns (`flex`), grids (`grid`), absolute positioning
//! (`absolute`), images (`replaced`), tables (`table`), and a box's fill and borders (`paint`).

mod absolute;
mod flex;
mod flow;
mod grid;
mod intrinsic;
mod paint;
mod replaced;
mod table;

use crate::css::Length;
use crate::deck::{Deck, Outline, Rect, Shape, Slide};
use crate::document::{Document, Element, Node};
use crate::images::{ImageStore, Loader};
use crate::style::{Display, Position, Style};

/// A slide's size when the page does not give one.
const DEFAULT_SIZE: (f32, f32) = (1024.0, 576.0);

/// Where a browser placed every element of each slide: `[x, y, width, height]` relative to
/// the slide, by the element's place in document order inside it (a browser's answer, as
/// `browser::adopt` reads it).
#[derive(Debug, Clone)]
pub struct Measured(pub(crate) Vec<Vec<[f32; 4]>>);

/// The deck of a parsed document, with what could not be carried over (one sentence each,
/// for the author). Images are read through `load`. With `measured` (a browser's layout of the
/// page), boxes go where the browser put them.
pub fn layout(
    document: Document,
    load: Loader<'_>,
    measured: Option<Measured>,
) -> (Deck, Vec<String>) {
    let mut images = ImageStore::new(load);
    let mut warnings = document.notices;
    let size = document
        .slides
        .first()
        .map(|s| {
            let style = &s.root.style;
            (
                resolve(style.width, DEFAULT_SIZE.0, style).unwrap_or(DEFAULT_SIZE.0),
                resolve(style.height, DEFAULT_SIZE.1, style).unwrap_or(DEFAULT_SIZE.1),
            )
        })
        .unwrap_or(DEFAULT_SIZE);
    let mut slides = Vec::with_capacity(document.slides.len());
    for (i, source) in document.slides.into_iter().enumerate() {
        let mut layouter = Layouter {
            measured: measured
                .as_ref()
                .and_then(|m| m.0.get(i))
                .cloned()
                .unwrap_or_default(),
            shapes: Vec::new(),
            images: &mut images,
            warnings: Vec::new(),
            measuring: false,
            title: None,
            list_texts: Vec::new(),
            texts: Vec::new(),
        };
        let root = &source.root;
        let page = Rect {
            x: 0.0,
            y: 0.0,
            w: size.0,
            h: size.1,
        };
        layouter.slide_root(root, page);
        for warning in layouter.warnings.drain(..) {
            let warning = format!("slide {}: {warning}", i + 1);
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        let outline = Outline {
            title: layouter
                .title
                .clone()
                .or_else(|| layouter.texts.first().cloned())
                .unwrap_or_default(),
            bullets: if layouter.list_texts.is_empty() {
                let title = layouter.title.is_none();
                layouter
                    .texts
                    .iter()
                    .skip(usize::from(title))
                    .cloned()
                    .collect()
            } else {
                layouter.list_texts.clone()
            },
        };
        slides.push(Slide {
            background: root.style.background.clone(),
            shapes: layouter.shapes,
            notes: source.notes,
            outline,
        });
    }
    let deck = Deck {
        width: size.0,
        height: size.1,
        title: document.title,
        slides,
        images: images.images,
    };
    (deck, warnings)
}

fn resolve(length: Option<Length>, basis: f32, style: &Style) -> Option<f32> {
    length?.resolve(basis, style.font_size)
}

/// Where a box's content goes: position, width and (when known) height.
#[derive(Debug, Clone, Copy)]
struct Area {
    x: f32,
    y: f32,
    w: f32,
    h: Option<f32>,
}

/// Where a box goes: its top left corner, its border-box width, and a height its parent
/// imposes (stretched flex items, grid rows).
#[derive(Debug, Clone, Copy)]
struct Place {
    x: f32,
    y: f32,
    w: f32,
    forced: Option<f32>,
}

impl Place {
    fn at(x: f32, y: f32, w: f32) -> Self {
        Self {
            x,
            y,
            w,
            forced: None,
        }
    }
}

/// A flex or grid item: an element, or text sitting directly in the container.
enum Item<'a> {
    Element(&'a Element),
    Text(&'a [Node]),
}

/// The walk over one slide: the shapes placed so far and what the outline takes from them.
struct Layouter<'s, 'a> {
    /// The browser's boxes for this slide's elements (empty: our own layout throughout).
    measured: Vec<[f32; 4]>,
    shapes: Vec<Shape>,
    images: &'s mut ImageStore<'a>,
    warnings: Vec<String>,
    /// While measuring, shapes are thrown away and the outline is left alone.
    measuring: bool,
    title: Option<String>,
    list_texts: Vec<String>,
    texts: Vec<String>,
}

/// The four sides of a box property in pixels (top, right, bottom, left).
fn sides(lengths: &[Length; 4], width: f32, style: &Style) -> [f32; 4] {
    lengths.map(|l| l.resolve(width, style.font_size).unwrap_or(0.0))
}

fn has_text(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Text(t) => !t.trim().is_empty(),
        Node::Element(e) => e.tag != "img" && has_text(&e.children),
    })
}

/// Whether everything inside is inline (text and inline elements), so the element is one block
/// of text.
fn is_inline_content(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(_) => true,
        Node::Element(e) => {
            !e.style.is_block_level()
                && e.style.position != Position::Absolute
                && e.tag != "img"
                && is_inline_content(&e.children)
        }
    })
}

fn is_heading(tag: &str) -> bool {
    matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

impl Layouter<'_, '_> {
    fn measure(&mut self, f: impl FnOnce(&mut Self) -> f32) -> f32 {
        let (mark, was) = (self.shapes.len(), self.measuring);
        self.measuring = true;
        let h = f(self);
        self.shapes.truncate(mark);
        self.measuring = was;
        h
    }

    fn warn(&mut self, warning: String) {
        if !self.measuring && !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn slide_root(&mut self, root: &Element, page: Rect) {
        let style = &root.style;
        let border = style.border_width;
        let padding = sides(&style.padding, page.w, style);
        if let Some(source) = &style.background_image {
            self.background_picture(source, page, style.cover);
        }
        if border.iter().any(|&b| b > 0.0) {
            self.borders(style, page, 0);
        }
        let content = Area {
            x: border[3] + padding[3],
            y: border[0] + padding[0],
            w: page.w - border[1] - border[3] - padding[1] - padding[3],
            h: Some(page.h - border[0] - border[2] - padding[0] - padding[2]),
        };
        self.content(root, content, page);
        self.absolutes(root, page);
    }

    /// Lays out the children of `element` in `area` as its display says; returns the height used.
    fn content(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
        let cb = self.containing_block(
            element,
            Rect {
                x: area.x,
                y: area.y,
                w: area.w,
                h: area.h.unwrap_or(0.0),
            },
            cb,
        );
        let style = &element.style;
        match style.display {
            Display::Flex if style.column => self.column(element, area, cb),
            Display::Flex => self.row(element, area, cb),
            Display::Grid => self.grid(element, area, cb),
            _ => self.flow(element, area, cb),
        }
    }

    fn items<'e>(&self, element: &'e Element) -> Vec<Item<'e>> {
        let mut items = Vec::new();
        let mut start = None;
        for (i, node) in element.children.iter().enumerate() {
            match node {
                Node::Text(t) if !t.trim().is_empty() => {
                    start.get_or_insert(i);
                }
                Node::Text(_) => {}
                Node::Element(e) => {
                    if let Some(s) = start.take() {
                        items.push(Item::Text(&element.children[s..i]));
                    }
                    if e.style.position != Position::Absolute {
                        items.push(Item::Element(e));
                    }
                }
            }
        }
        if let Some(s) = start {
            items.push(Item::Text(&element.children[s..]));
        }
        items
    }

    /// Lays out an item as a box; a text item is an anonymous paragraph.
    fn item(
        &mut self,
        item: &Item<'_>,
        style: &Style,
        place: Place,
        parent: Area,
        cb: Rect,
    ) -> f32 {
        match item {
            Item::Element(e) => self.block(e, place, parent, cb),
            Item::Text(nodes) => {
                let nodes: Vec<&Node> = nodes.iter().collect();
                let Place { x, y, w, .. } = place;
                self.anonymous(&nodes, style, Area { x, y, w, h: None }, y)
            }
        }
    }
}
