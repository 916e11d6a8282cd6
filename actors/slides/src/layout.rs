//! Layout: each slide's styled tree placed the way a browser's block, flex and grid layout
//! would place it, as shapes in slide pixels. Text sizes come from average glyph widths (no
//! browser runs here), so positions are close rather than exact.

use super::deck::{
    Anchor, Bullet, Deck, Frame, Line, Outline, Paragraph, Picture, Rect, Shape, Slide, Table,
    TableCell, TableRow, TextBox,
};
use super::document::{Document, Element, Node};
use super::images::{ImageStore, Loader};
use super::style::{Cross, Display, Fill, Justify, ListStyle, Position, Style};
use super::text::{self, Runs};

/// A slide's size when the page does not give one.
const DEFAULT_SIZE: (f32, f32) = (1024.0, 576.0);

/// Where a browser placed every element of each slide: `[x, y, width, height]` relative to
/// the slide, by the element's place in document order inside it (see [`crate::browser`]).
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

fn resolve(length: Option<super::css::Length>, basis: f32, style: &Style) -> Option<f32> {
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
fn sides(lengths: &[super::css::Length; 4], width: f32, style: &Style) -> [f32; 4] {
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

/// Each side's border (top, right, bottom, left).
fn side_lines(style: &Style) -> [Option<Line>; 4] {
    let color = style.border_color.unwrap_or(style.color);
    style
        .border_width
        .map(|width| (width > 0.0).then_some(Line { width, color }))
}

fn border_line(style: &Style) -> Option<Line> {
    let w = style.border_width;
    (w[0] > 0.0 && w.iter().all(|&x| x == w[0])).then(|| Line {
        width: w[0],
        color: style.border_color.unwrap_or(style.color),
    })
}

fn frame(style: &Style, rect: Rect) -> Frame {
    Frame {
        rect,
        fill: style.background.clone(),
        line: border_line(style),
        radius: style.radius,
    }
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

    /// Lays out `element` as a box at `place`; returns its height.
    fn block(&mut self, element: &Element, place: Place, parent: Area, cb: Rect) -> f32 {
        // Where the browser put it, when it laid the page out.
        let place = match element.order.and_then(|i| self.measured.get(i)) {
            Some(&[x, y, w, h]) if w > 0.0 || h > 0.0 => Place {
                x,
                y,
                w,
                forced: Some(h),
            },
            _ => place,
        };
        let Place { x, y, w, forced } = place;
        let style = &element.style;
        let padding = sides(&style.padding, parent.w, style);
        let border = style.border_width;
        let insets = [
            padding[0] + border[0],
            padding[1] + border[1],
            padding[2] + border[2],
            padding[3] + border[3],
        ];
        let explicit = forced.or_else(|| parent.h.and_then(|h| resolve(style.height, h, style)));
        let min = parent
            .h
            .and_then(|h| resolve(style.min_height, h, style))
            .or(match style.min_height {
                Some(super::css::Length::Px(px)) => Some(px),
                _ => None,
            })
            .unwrap_or(0.0);
        let content = Area {
            x: x + insets[3],
            y: y + insets[0],
            w: (w - insets[1] - insets[3]).max(0.0),
            h: explicit.map(|h| (h - insets[0] - insets[2]).max(0.0)),
        };
        let mark = self.shapes.len();

        if element.tag == "img" {
            let h = self.image(element, x, y, w, explicit);
            return h.max(min);
        }
        let is_list = matches!(element.tag.as_str(), "ul" | "ol")
            && style.display == Display::Block
            && element.elements().all(|li| li.tag == "li");
        let text_like = is_list
            || (!matches!(style.display, Display::Flex | Display::Grid)
                && is_inline_content(&element.children)
                && has_text(&element.children))
            || (style.display == Display::Flex && !style.column && self.is_text_row(element));
        if text_like {
            let paragraphs = if is_list {
                let mut paragraphs = Vec::new();
                self.list(element, 0.0, 0, &mut paragraphs);
                paragraphs
            } else {
                let mut runs = Runs::new();
                text::gather_children(element, &mut runs, false);
                let runs = runs.finish();
                let line_height = text::paragraph_line_height(&runs, style);
                vec![Paragraph {
                    runs,
                    align: style.align,
                    line_height,
                    space_before: 0.0,
                    indent: 0.0,
                    level: 0,
                    bullet: None,
                }]
            };
            let mut text_insets = insets;
            if is_list {
                text_insets[3] = border[3];
            }
            let text_height = text::height(&paragraphs, (content.w).max(1.0));
            let h = explicit
                .unwrap_or(text_height + insets[0] + insets[2])
                .max(min);
            let anchor = self.anchor(style);
            let title = !self.measuring && self.title.is_none() && is_heading(&element.tag);
            if !self.measuring {
                let texts: Vec<String> = paragraphs
                    .iter()
                    .map(|p| p.text())
                    .filter(|t| !t.is_empty())
                    .collect();
                if title {
                    self.title = Some(texts.join(" "));
                } else if is_list {
                    self.list_texts.extend(texts);
                } else {
                    self.texts.extend(texts);
                }
            }
            let rect = Rect { x, y, w, h };
            self.shapes.push(Shape::Text(TextBox {
                frame: frame(style, rect),
                insets: text_insets,
                paragraphs,
                anchor,
                title,
            }));
            self.shapes.extend(side_bars(style, rect));
            self.absolutes(
                element,
                self.containing_block(element, Rect { x, y, w, h }, cb),
            );
            return h;
        }

        let used = match element.tag.as_str() {
            "table" => self.table(element, content),
            _ => self.content(element, content, cb),
        };
        let h = explicit.unwrap_or(used + insets[0] + insets[2]).max(min);
        let rect = Rect { x, y, w, h };
        if let Some(source) = &style.background_image {
            self.background_picture_at(mark, source, rect, style.cover);
        }
        if style.background.is_some() || border.iter().any(|&b| b > 0.0) {
            self.borders(style, rect, mark);
        }
        self.absolutes(element, self.containing_block(element, rect, cb));
        h
    }

    /// Where absolutely positioned children of `element` are placed from.
    fn containing_block(&self, element: &Element, rect: Rect, cb: Rect) -> Rect {
        if element.style.position == Position::Static {
            return cb;
        }
        let b = element.style.border_width;
        Rect {
            x: rect.x + b[3],
            y: rect.y + b[0],
            w: rect.w - b[1] - b[3],
            h: rect.h - b[0] - b[2],
        }
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

    /// Block flow: block children one below the other, margins collapsed, runs of inline
    /// content between them as paragraphs.
    fn flow(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
        let style = &element.style;
        let mut y = area.y;
        let mut pending_margin = 0.0f32;
        let mut first = true;
        let mut inline: Vec<&Node> = Vec::new();
        // A `None` at the end flushes the last run of inline content.
        for node in element.children.iter().map(Some).chain([None]) {
            let child = match node {
                Some(Node::Element(e)) if e.style.position == Position::Absolute => continue,
                Some(Node::Element(e)) if e.style.is_block_level() || e.tag == "img" => Some(e),
                Some(node) => {
                    inline.push(node);
                    continue;
                }
                None => None,
            };
            if !inline.is_empty() {
                let h = self.anonymous(&inline, style, area, y + pending_margin);
                if h > 0.0 {
                    y += pending_margin + h;
                    pending_margin = 0.0;
                    first = false;
                }
                inline.clear();
            }
            let Some(child) = child else { break };
            let margin = sides(&child.style.margin, area.w, &child.style);
            let top = if !first && style.space_y > 0.0 {
                style.space_y
            } else {
                margin[0]
            };
            y += if top >= 0.0 && pending_margin >= 0.0 {
                top.max(pending_margin)
            } else {
                top + pending_margin
            };
            let (x, w) = self.horizontal(child, area);
            let h = self.block(child, Place::at(x, y, w), area, cb);
            y += h;
            pending_margin = margin[2];
            first = false;
        }
        y - area.y + pending_margin.max(0.0)
    }

    /// Text sitting directly in a block that also has block children: a paragraph of its own.
    fn anonymous(&mut self, nodes: &[&Node], style: &Style, area: Area, y: f32) -> f32 {
        let mut runs = Runs::new();
        for node in nodes {
            text::gather(std::slice::from_ref(*node), style, &mut runs, false);
        }
        if runs.is_empty() {
            return 0.0;
        }
        let runs = runs.finish();
        let paragraph = Paragraph {
            line_height: text::paragraph_line_height(&runs, style),
            runs,
            align: style.align,
            space_before: 0.0,
            indent: 0.0,
            level: 0,
            bullet: None,
        };
        let paragraphs = vec![paragraph];
        let h = text::height(&paragraphs, area.w);
        if !self.measuring {
            self.texts.extend(paragraphs.iter().map(|p| p.text()));
        }
        self.shapes.push(Shape::Text(TextBox {
            frame: Frame::bare(Rect {
                x: area.x,
                y,
                w: area.w,
                h,
            }),
            insets: [0.0; 4],
            paragraphs,
            anchor: Anchor::Top,
            title: false,
        }));
        h
    }

    /// A block child's x and border-box width in `area`: its width (or all that is left after
    /// margins), limited by max-width, centred by auto margins.
    fn horizontal(&mut self, child: &Element, area: Area) -> (f32, f32) {
        let style = &child.style;
        let margin = &style.margin;
        let left = margin[3].resolve(area.w, style.font_size);
        let right = margin[1].resolve(area.w, style.font_size);
        let mut w = resolve(style.width, area.w, style).unwrap_or_else(|| {
            if child.tag == "img" {
                self.natural_width(child).min(area.w)
            } else {
                area.w - left.unwrap_or(0.0) - right.unwrap_or(0.0)
            }
        });
        if let Some(max) = resolve(style.max_width, area.w, style) {
            w = w.min(max);
        }
        let x = match (left, right) {
            (None, None) => area.x + (area.w - w) / 2.0,
            (None, Some(r)) => area.x + area.w - r - w,
            (Some(l), _) => area.x + l,
        };
        (x, w.max(0.0))
    }

    /// How a text box's text sits vertically, from the flex centring of its element.
    fn anchor(&self, style: &Style) -> Anchor {
        if style.display != Display::Flex {
            return Anchor::Top;
        }
        let along = if style.column {
            style.justify
        } else {
            Justify::Start
        };
        match (style.column, style.cross, along) {
            (false, Cross::Center, _) | (true, _, Justify::Center) => Anchor::Middle,
            (false, Cross::End, _) | (true, _, Justify::End) => Anchor::Bottom,
            _ => Anchor::Top,
        }
    }

    /// A flex row whose items are all plain text (an icon and a label, spans): one text box.
    fn is_text_row(&self, element: &Element) -> bool {
        has_text(&element.children)
            && element.elements().all(|e| {
                e.style.background.is_none()
                    && e.style.width.is_none()
                    && e.style.border_width.iter().all(|&b| b == 0.0)
                    && e.style.position != Position::Absolute
                    && e.tag != "img"
                    && is_inline_content(&e.children)
            })
    }

    /// The paragraphs of a list, nested lists one level deeper.
    fn list(&mut self, list: &Element, indent: f32, level: u8, out: &mut Vec<Paragraph>) {
        let style = &list.style;
        let padding = sides(&style.padding, 0.0, style);
        let indent = indent + padding[3];
        let numbers = list.start.unwrap_or(1)..;
        for (number, (i, item)) in numbers.zip(list.elements().enumerate()) {
            let mut runs = Runs::new();
            text::gather_children(item, &mut runs, true);
            let runs = runs.finish();
            let margin = sides(&item.style.margin, 0.0, &item.style);
            let space_before = if i > 0 && style.space_y > 0.0 {
                style.space_y
            } else {
                margin[0].max(0.0)
            };
            let bullet = bullet(item.style.list_style, number);
            let hanging = if bullet.is_some() {
                item.style.font_size * 1.1
            } else {
                0.0
            };
            out.push(Paragraph {
                line_height: text::paragraph_line_height(&runs, &item.style),
                runs,
                align: item.style.align,
                space_before,
                indent: if bullet.is_some() {
                    indent.max(hanging)
                } else {
                    indent
                },
                level,
                bullet,
            });
            for nested in nested_lists(item) {
                self.list(nested, indent, level.saturating_add(1), out);
            }
        }
    }

    /// The natural (max-content) width of an element: what it takes when nothing wraps.
    fn natural_width(&mut self, element: &Element) -> f32 {
        let style = &element.style;
        let padding = sides(&style.padding, 0.0, style);
        let b = style.border_width;
        let extra = padding[1] + padding[3] + b[1] + b[3];
        if let Some(w) = resolve(style.width, 0.0, style).filter(|&w| w > 0.0) {
            return w;
        }
        if element.tag == "img" {
            let (w, h) = element.size_attrs;
            if let Some(w) = w {
                return w;
            }
            return match element.src.as_deref().map(|s| self.images.get(s)) {
                Some(Ok(i)) => {
                    let image = &self.images.images[i];
                    match (h, resolve(style.height, 0.0, style)) {
                        (_, Some(h)) | (Some(h), None) => h * image.width / image.height,
                        _ => image.width,
                    }
                }
                _ => 0.0,
            };
        }
        if is_inline_content(&element.children) || self.is_text_row(element) {
            let mut runs = Runs::new();
            text::gather_children(element, &mut runs, false);
            return text::natural_width(&runs.finish()) + extra;
        }
        let gap = style
            .column_gap
            .resolve(0.0, style.font_size)
            .unwrap_or(0.0);
        let children: Vec<f32> = element
            .children
            .iter()
            .map(|n| match n {
                Node::Element(e) if e.style.position != Position::Absolute => self.natural_width(e),
                Node::Element(_) => 0.0,
                Node::Text(t) => {
                    let mut runs = Runs::new();
                    runs.text(t, style);
                    text::natural_width(&runs.finish())
                }
            })
            .collect();
        let inner = if style.display == Display::Flex && !style.column {
            children.iter().sum::<f32>() + gap * children.len().saturating_sub(1) as f32
        } else {
            children.iter().copied().fold(0.0, f32::max)
        };
        inner + extra
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

    fn item_natural_width(&mut self, item: &Item<'_>, style: &Style) -> f32 {
        match item {
            Item::Element(e) => self.natural_width(e),
            Item::Text(nodes) => {
                let mut runs = Runs::new();
                text::gather(nodes, style, &mut runs, false);
                text::natural_width(&runs.finish())
            }
        }
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

    /// A flex row: widths from bases, grown or shrunk to fit, lines wrapped when allowed,
    /// items aligned across the line.
    fn row(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
        let style = &element.style;
        let items = self.items(element);
        if items.is_empty() {
            return 0.0;
        }
        let gap = style
            .column_gap
            .resolve(area.w, style.font_size)
            .unwrap_or(0.0)
            .max(style.space_x);
        let row_gap = style
            .row_gap
            .resolve(area.w, style.font_size)
            .unwrap_or(0.0);
        // Outer widths (margins included) and grow factors.
        let mut bases = Vec::with_capacity(items.len());
        for item in &items {
            let (basis, grow, margins) = match item {
                Item::Element(e) => {
                    let m = sides(&e.style.margin, area.w, &e.style);
                    let basis = match resolve(e.style.width, area.w, &e.style) {
                        Some(w) => w,
                        None if e.style.flex_grow > 0.0 => 0.0,
                        None => self.natural_width(e),
                    };
                    (basis, e.style.flex_grow, m[1] + m[3])
                }
                Item::Text(_) => (self.item_natural_width(item, style), 0.0, 0.0),
            };
            bases.push((basis.min(area.w), grow, margins));
        }
        let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        let mut used = 0.0;
        for (i, (basis, _, margins)) in bases.iter().enumerate() {
            let outer = basis + margins;
            if style.wrap && i > start && used + gap + outer > area.w {
                lines.push(start..i);
                start = i;
                used = 0.0;
            }
            used += if i > start { gap + outer } else { outer };
        }
        lines.push(start..items.len());

        let mut y = area.y;
        for (line_index, line) in lines.iter().enumerate() {
            let count = line.len();
            let gaps = gap * count.saturating_sub(1) as f32;
            let total: f32 = bases[line.clone()].iter().map(|(b, _, m)| b + m).sum();
            let grow: f32 = bases[line.clone()].iter().map(|(_, g, _)| g).sum();
            let free = area.w - gaps - total;
            let widths: Vec<f32> = bases[line.clone()]
                .iter()
                .map(|&(basis, g, _)| {
                    if free > 0.0 && grow > 0.0 {
                        basis + free * g / grow
                    } else if free < 0.0 && total > 0.0 {
                        (basis + free * basis / total).max(0.0)
                    } else {
                        basis
                    }
                })
                .collect();
            let left = if grow > 0.0 { 0.0 } else { free.max(0.0) };
            let (mut x, spacing) = justify(style.justify, left, count, area.x, gap);
            // Heights, then the line's height.
            let heights: Vec<f32> = line
                .clone()
                .zip(&widths)
                .map(|(i, &w)| {
                    let item = &items[i];
                    self.measure(|me| me.item(item, style, Place::at(0.0, 0.0, w), area, cb))
                })
                .collect();
            let tallest = heights.iter().copied().fold(0.0, f32::max);
            let line_height = match area.h {
                Some(h) if lines.len() == 1 && style.cross == Cross::Stretch => h.max(tallest),
                _ => tallest,
            };
            for ((i, &w), &h) in line.clone().zip(&widths).zip(&heights) {
                let item = &items[i];
                let (margin_left, margin_right, margin_top, own_height) = match item {
                    Item::Element(e) => {
                        let m = sides(&e.style.margin, area.w, &e.style);
                        (m[3], m[1], m[0], e.style.height.is_some())
                    }
                    Item::Text(_) => (0.0, 0.0, 0.0, false),
                };
                x += margin_left;
                let (dy, forced) = match style.cross {
                    Cross::Stretch if !own_height => (0.0, Some(line_height - margin_top)),
                    Cross::Center => ((line_height - h) / 2.0, None),
                    Cross::End => (line_height - h, None),
                    _ => (0.0, None),
                };
                let place = Place {
                    forced,
                    ..Place::at(x, y + dy + margin_top, w)
                };
                self.item(item, style, place, area, cb);
                x += w + margin_right + spacing;
            }
            y += line_height;
            if line_index + 1 < lines.len() {
                y += row_gap;
            }
        }
        y - area.y
    }

    /// A flex column: items one below the other with the gap, sized across by the alignment,
    /// spread along by `justify-content` when the height is known.
    fn column(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
        let style = &element.style;
        let items = self.items(element);
        let gap = style
            .row_gap
            .resolve(area.w, style.font_size)
            .unwrap_or(0.0)
            .max(style.space_y);
        let mut placed = Vec::with_capacity(items.len());
        for item in &items {
            let (mut x, mut w) = match item {
                Item::Element(e) => self.horizontal(e, area),
                Item::Text(_) => (area.x, area.w),
            };
            let explicit_width = matches!(item, Item::Element(e) if e.style.width.is_some());
            if style.cross != Cross::Stretch && !explicit_width {
                w = self.item_natural_width(item, style).min(area.w);
                x = match style.cross {
                    Cross::Center => area.x + (area.w - w) / 2.0,
                    Cross::End => area.x + area.w - w,
                    _ => area.x,
                };
            }
            let margin = match item {
                Item::Element(e) => sides(&e.style.margin, area.w, &e.style),
                Item::Text(_) => [0.0; 4],
            };
            let h = self.measure(|me| me.item(item, style, Place::at(x, 0.0, w), area, cb));
            placed.push((x, w, h, margin));
        }
        let total: f32 = placed
            .iter()
            .map(|(_, _, h, m)| h + m[0] + m[2])
            .sum::<f32>()
            + gap * items.len().saturating_sub(1) as f32;
        let free = area.h.map_or(0.0, |h| (h - total).max(0.0));
        let grow: f32 = items
            .iter()
            .map(|i| match i {
                Item::Element(e) => e.style.flex_grow,
                Item::Text(_) => 0.0,
            })
            .sum();
        let (mut y, spacing) = if grow > 0.0 {
            (area.y, gap)
        } else {
            justify(style.justify, free, items.len(), area.y, gap)
        };
        for (item, (x, w, h, margin)) in items.iter().zip(placed) {
            let grown = match item {
                Item::Element(e) if grow > 0.0 && e.style.flex_grow > 0.0 => {
                    Some(h + free * e.style.flex_grow / grow)
                }
                _ => None,
            };
            y += margin[0];
            let place = Place {
                forced: grown,
                ..Place::at(x, y, w)
            };
            let used = self.item(item, style, place, area, cb);
            y += used + margin[2] + spacing;
        }
        if !items.is_empty() {
            y -= spacing;
        }
        (y - area.y).max(0.0)
    }

    /// A grid: columns from the template, items placed row by row, rows as tall as their
    /// tallest item.
    fn grid(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
        let style = &element.style;
        let weights = if style.grid_columns.is_empty() {
            vec![1.0]
        } else {
            style.grid_columns.clone()
        };
        let columns = weights.len();
        let column_gap = style
            .column_gap
            .resolve(area.w, style.font_size)
            .unwrap_or(0.0);
        let row_gap = style
            .row_gap
            .resolve(area.w, style.font_size)
            .unwrap_or(0.0);
        let total: f32 = weights.iter().sum();
        let inner = area.w - column_gap * (columns - 1) as f32;
        let widths: Vec<f32> = weights.iter().map(|w| inner * w / total).collect();
        let items = self.items(element);
        // Rows of (item, first column, span).
        let mut rows: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new()];
        let mut column = 0;
        for (i, item) in items.iter().enumerate() {
            let span = match item {
                Item::Element(e) => e.style.column_span.clamp(1, columns),
                Item::Text(_) => 1,
            };
            if column + span > columns {
                rows.push(Vec::new());
                column = 0;
            }
            if let Some(row) = rows.last_mut() {
                row.push((i, column, span));
            }
            column += span;
        }
        let x_of = |c: usize| area.x + widths[..c].iter().sum::<f32>() + column_gap * c as f32;
        let width_of = |c: usize, span: usize| {
            widths[c..c + span].iter().sum::<f32>() + column_gap * (span - 1) as f32
        };
        let mut y = area.y;
        let row_count = rows.iter().filter(|r| !r.is_empty()).count();
        for (r, row) in rows.iter().filter(|r| !r.is_empty()).enumerate() {
            let heights: Vec<f32> = row
                .iter()
                .map(|&(i, c, span)| {
                    let item = &items[i];
                    let w = width_of(c, span);
                    self.measure(|me| me.item(item, style, Place::at(0.0, 0.0, w), area, cb))
                })
                .collect();
            let tallest = heights.iter().copied().fold(0.0, f32::max);
            for (&(i, c, span), &h) in row.iter().zip(&heights) {
                let (dy, forced) = match style.cross {
                    Cross::Stretch => (0.0, Some(tallest)),
                    Cross::Center => ((tallest - h) / 2.0, None),
                    Cross::End => (tallest - h, None),
                    Cross::Start => (0.0, None),
                };
                let place = Place {
                    forced,
                    ..Place::at(x_of(c), y + dy, width_of(c, span))
                };
                self.item(&items[i], style, place, area, cb);
            }
            y += tallest;
            if r + 1 < row_count {
                y += row_gap;
            }
        }
        y - area.y
    }

    /// Absolutely positioned children of `element`, placed in `cb` by their offsets.
    fn absolutes(&mut self, element: &Element, cb: Rect) {
        for child in element.elements() {
            if child.style.position != Position::Absolute {
                continue;
            }
            let style = &child.style;
            let offset = |i: usize, basis: f32| {
                style.offsets[i].and_then(|l| l.resolve(basis, style.font_size))
            };
            let (top, right, bottom, left) = (
                offset(0, cb.h),
                offset(1, cb.w),
                offset(2, cb.h),
                offset(3, cb.w),
            );
            let w = resolve(style.width, cb.w, style)
                .or(match (left, right) {
                    (Some(l), Some(r)) => Some(cb.w - l - r),
                    _ => None,
                })
                .unwrap_or_else(|| self.natural_width(child).min(cb.w - left.unwrap_or(0.0)))
                .max(0.0);
            let x = match (left, right) {
                (Some(l), _) => cb.x + l,
                (None, Some(r)) => cb.x + cb.w - r - w,
                (None, None) => cb.x,
            };
            let forced = resolve(style.height, cb.h, style).or(match (top, bottom) {
                (Some(t), Some(b)) => Some(cb.h - t - b),
                _ => None,
            });
            let parent = Area {
                x: cb.x,
                y: cb.y,
                w: cb.w,
                h: Some(cb.h),
            };
            let y = match (top, bottom) {
                (Some(t), _) => cb.y + t,
                (None, Some(b)) => {
                    let h = forced.unwrap_or_else(|| {
                        self.measure(|me| me.block(child, Place::at(x, 0.0, w), parent, cb))
                    });
                    cb.y + cb.h - b - h
                }
                (None, None) => cb.y,
            };
            self.block(
                child,
                Place {
                    forced,
                    ..Place::at(x, y, w)
                },
                parent,
                cb,
            );
        }
    }

    /// An `<img>` at (x, y): its size from the page, or its own proportions.
    fn image(&mut self, element: &Element, x: f32, y: f32, w: f32, explicit: Option<f32>) -> f32 {
        let style = &element.style;
        let source = element.src.clone().unwrap_or_default();
        let index = match self.images.get(&source) {
            Ok(i) => i,
            Err(e) => {
                let shown: String = source.chars().take(80).collect();
                self.warn(format!("image {shown} left out: {e}"));
                return explicit.or(element.size_attrs.1).unwrap_or(0.0);
            }
        };
        let image = &self.images.images[index];
        let fixed_height = explicit.or(match style.height {
            Some(super::css::Length::Px(px)) => Some(px),
            _ => element.size_attrs.1,
        });
        let h = fixed_height.unwrap_or(w * image.height / image.width);
        let fixed =
            fixed_height.is_some() && (style.width.is_some() || element.size_attrs.0.is_some());
        let (rect, crop) = fit(
            Rect { x, y, w, h },
            image.width,
            image.height,
            style.cover,
            fixed,
        );
        if w > 0.0 && h > 0.0 {
            self.shapes.push(Shape::Picture(Picture {
                rect,
                image: index,
                crop,
                description: element.alt.clone(),
            }));
        }
        h
    }

    fn background_picture(&mut self, source: &str, rect: Rect, cover: bool) {
        let mark = self.shapes.len();
        self.background_picture_at(mark, source, rect, cover);
    }

    /// A background image under everything drawn since `mark`.
    fn background_picture_at(&mut self, mark: usize, source: &str, rect: Rect, cover: bool) {
        match self.images.get(source) {
            Ok(index) => {
                let image = &self.images.images[index];
                let (rect, crop) = fit(rect, image.width, image.height, cover, true);
                self.shapes.insert(
                    mark,
                    Shape::Picture(Picture {
                        rect,
                        image: index,
                        crop,
                        description: String::new(),
                    }),
                );
            }
            Err(e) => {
                let shown: String = source.chars().take(80).collect();
                self.warn(format!("background image {shown} left out: {e}"));
            }
        }
    }

    /// The box's fill and border under everything drawn since `mark`: one shape when the
    /// border is the same all round, else a bar per bordered side.
    fn borders(&mut self, style: &Style, rect: Rect, mark: usize) {
        let mut shapes = Vec::new();
        if style.background.is_some() || border_line(style).is_some() {
            shapes.push(Shape::Box(frame(style, rect)));
        }
        shapes.extend(side_bars(style, rect));
        let mark = mark.min(self.shapes.len());
        self.shapes.splice(mark..mark, shapes);
    }

    /// A table: columns sized by their content, rows as tall as their tallest cell.
    fn table(&mut self, table: &Element, area: Area) -> f32 {
        let mut rows: Vec<(&Element, Option<&Element>)> = Vec::new();
        for child in table.elements() {
            match child.tag.as_str() {
                "tr" => rows.push((child, None)),
                "thead" | "tbody" | "tfoot" => rows.extend(
                    child
                        .elements()
                        .filter(|r| r.tag == "tr")
                        .map(|r| (r, Some(child))),
                ),
                _ => {}
            }
        }
        let columns = rows
            .iter()
            .map(|(r, _)| r.elements().map(|c| c.colspan).sum::<usize>())
            .max()
            .unwrap_or(0);
        if columns == 0 {
            return 0.0;
        }
        let mut natural = vec![0.0f32; columns];
        for (row, _) in &rows {
            let mut c = 0;
            for cell in row.elements() {
                if cell.colspan == 1 && c < columns {
                    let w = resolve(cell.style.width, area.w, &cell.style)
                        .unwrap_or_else(|| self.natural_width(cell));
                    natural[c] = natural[c].max(w);
                }
                c += cell.colspan;
            }
        }
        let natural_total: f32 = natural.iter().sum();
        // A table with a width was given it as its box; one without is as wide as its content.
        let table_width = if table.style.width.is_some() {
            area.w
        } else {
            natural_total.min(area.w)
        }
        .max(1.0);
        let widths: Vec<f32> = if natural_total > 0.0 {
            natural
                .iter()
                .map(|w| table_width * w / natural_total)
                .collect()
        } else {
            vec![table_width / columns as f32; columns]
        };
        let table_border = [border_line(&table.style); 4];
        let mut table_rows = Vec::with_capacity(rows.len());
        for (row, section) in &rows {
            let mut cells = Vec::new();
            let mut c = 0;
            let mut height = 0.0f32;
            for cell in row.elements() {
                if c >= columns {
                    break;
                }
                let span = cell.colspan.min(columns - c);
                let width: f32 = widths[c..c + span].iter().sum();
                let insets = sides(&cell.style.padding, area.w, &cell.style);
                let mut runs = Runs::new();
                text::gather(&cell.children, &cell.style, &mut runs, false);
                let runs = runs.finish();
                let paragraphs = vec![Paragraph {
                    line_height: text::paragraph_line_height(&runs, &cell.style),
                    runs,
                    align: cell.style.align,
                    space_before: 0.0,
                    indent: 0.0,
                    level: 0,
                    bullet: None,
                }];
                height = height.max(
                    text::height(&paragraphs, (width - insets[1] - insets[3]).max(1.0))
                        + insets[0]
                        + insets[2],
                );
                let fill = cell
                    .style
                    .background
                    .clone()
                    .or_else(|| row.style.background.clone())
                    .or_else(|| section.and_then(|s| s.style.background.clone()));
                let (own, row_lines) = (side_lines(&cell.style), side_lines(&row.style));
                let lines = [0, 1, 2, 3].map(|i| own[i].or(row_lines[i]).or(table_border[i]));
                cells.push(TableCell {
                    paragraphs,
                    fill,
                    span,
                    insets,
                    lines,
                    anchor: Anchor::Middle,
                });
                for _ in 1..span {
                    cells.push(TableCell {
                        paragraphs: Vec::new(),
                        fill: None,
                        span: 0,
                        insets,
                        lines,
                        anchor: Anchor::Middle,
                    });
                }
                c += span;
            }
            while c < columns {
                cells.push(TableCell {
                    paragraphs: Vec::new(),
                    fill: None,
                    span: 1,
                    insets: [0.0; 4],
                    lines: table_border,
                    anchor: Anchor::Middle,
                });
                c += 1;
            }
            let height = resolve(row.style.height, 0.0, &row.style)
                .unwrap_or(0.0)
                .max(height);
            table_rows.push(TableRow { height, cells });
        }
        let total: f32 = table_rows.iter().map(|r| r.height).sum();
        let x = match table.style.margin[3] {
            super::css::Length::Auto => area.x + (area.w - table_width) / 2.0,
            _ => area.x,
        };
        self.shapes.push(Shape::Table(Table {
            rect: Rect {
                x,
                y: area.y,
                w: table_width,
                h: total,
            },
            columns: widths,
            rows: table_rows,
        }));
        total
    }
}

/// A bar per bordered side, for borders that differ between sides (a shape's outline is the
/// same all round).
fn side_bars(style: &Style, rect: Rect) -> Vec<Shape> {
    let b = style.border_width;
    if border_line(style).is_some() {
        return Vec::new();
    }
    let color = style.border_color.unwrap_or(style.color);
    let bars = [
        Rect { h: b[0], ..rect },
        Rect {
            x: rect.x + rect.w - b[1],
            w: b[1],
            ..rect
        },
        Rect {
            y: rect.y + rect.h - b[2],
            h: b[2],
            ..rect
        },
        Rect { w: b[3], ..rect },
    ];
    bars.into_iter()
        .zip(b)
        .filter(|&(_, width)| width > 0.0)
        .map(|(bar, _)| {
            Shape::Box(Frame {
                fill: Some(Fill::Solid(color)),
                ..Frame::bare(bar)
            })
        })
        .collect()
}

/// Starting offset and spacing of `count` items with `free` room left, after `justify-content`.
fn justify(justify: Justify, free: f32, count: usize, start: f32, gap: f32) -> (f32, f32) {
    let n = count.max(1) as f32;
    match justify {
        Justify::Start => (start, gap),
        Justify::Center => (start + free / 2.0, gap),
        Justify::End => (start + free, gap),
        Justify::Between if count > 1 => (start, gap + free / (n - 1.0)),
        Justify::Between => (start, gap),
        Justify::Around => (start + free / (2.0 * n), gap + free / n),
        Justify::Evenly => (start + free / (n + 1.0), gap + free / (n + 1.0)),
    }
}

/// The picture's rectangle and crop: `cover` fills the box and crops the overflow; a box whose
/// proportions are both fixed otherwise shows the whole image (contain), centred.
fn fit(rect: Rect, width: f32, height: f32, cover: bool, fixed: bool) -> (Rect, [f32; 4]) {
    let box_ratio = rect.w / rect.h.max(0.01);
    let image_ratio = width / height;
    if !fixed || (box_ratio - image_ratio).abs() < 0.01 {
        return (rect, [0.0; 4]);
    }
    if cover {
        if image_ratio > box_ratio {
            let cut = (1.0 - box_ratio / image_ratio) / 2.0;
            (rect, [cut, 0.0, cut, 0.0])
        } else {
            let cut = (1.0 - image_ratio / box_ratio) / 2.0;
            (rect, [0.0, cut, 0.0, cut])
        }
    } else if image_ratio > box_ratio {
        let h = rect.w / image_ratio;
        (
            Rect {
                y: rect.y + (rect.h - h) / 2.0,
                h,
                ..rect
            },
            [0.0; 4],
        )
    } else {
        let w = rect.h * image_ratio;
        (
            Rect {
                x: rect.x + (rect.w - w) / 2.0,
                w,
                ..rect
            },
            [0.0; 4],
        )
    }
}

fn bullet(style: ListStyle, number: u32) -> Option<Bullet> {
    Some(match style {
        ListStyle::None => return None,
        ListStyle::Disc => Bullet::Char('•'),
        ListStyle::Circle => Bullet::Char('◦'),
        ListStyle::Square => Bullet::Char('▪'),
        ListStyle::Decimal => Bullet::Number("arabicPeriod", number),
        ListStyle::LowerAlpha => Bullet::Number("alphaLcPeriod", number),
        ListStyle::UpperAlpha => Bullet::Number("alphaUcPeriod", number),
        ListStyle::LowerRoman => Bullet::Number("romanLcPeriod", number),
        ListStyle::UpperRoman => Bullet::Number("romanUcPeriod", number),
    })
}

/// The lists inside a list item (at any depth, not inside another nested list).
fn nested_lists(item: &Element) -> Vec<&Element> {
    let mut out = Vec::new();
    for child in item.elements() {
        if matches!(child.tag.as_str(), "ul" | "ol") {
            out.push(child);
        } else {
            out.extend(nested_lists(child));
        }
    }
    out
}
