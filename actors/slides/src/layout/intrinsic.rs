//! Intrinsic widths: what an element or a flex item takes when nothing wraps (max-content),
//! for boxes whose width comes from their content (flex bases, absolutely positioned boxes,
//! table columns, images).

use super::{is_inline_content, resolve, sides, Item, Layouter};
use crate::document::{Element, Node};
use crate::style::{Display, Position, Style};
use crate::text::{self, Runs};

impl Layouter<'_, '_> {
    /// The natural (max-content) width of an element: what it takes when nothing wraps.
    pub(super) fn natural_width(&mut self, element: &Element) -> f32 {
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

    pub(super) fn item_natural_width(&mut self, item: &Item<'_>, style: &Style) -> f32 {
        match item {
            Item::Element(e) => self.natural_width(e),
            Item::Text(nodes) => {
                let mut runs = Runs::new();
                text::gather(nodes, style, &mut runs, false);
                text::natural_width(&runs.finish())
            }
        }
    }
}
