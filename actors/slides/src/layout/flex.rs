//! Flex layout: rows (bases grown or shrunk to fit, lines wrapped when allowed, items aligned
//! across the line) and columns (items one below the other, spread along by
//! `justify-content` or grown to fill the height).

use super::{resolve, sides, Area, Item, Layouter, Place};
use crate::deck::Rect;
use crate::document::Element;
use crate::style::{Cross, Justify};

impl Layouter<'_, '_> {
    /// A flex row: widths from bases, grown or shrunk to fit, lines wrapped when allowed,
    /// items aligned across the line.
    pub(super) fn row(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
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
    pub(super) fn column(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
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
