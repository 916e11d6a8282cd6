//! Grid layout: columns from the template, items placed row by row with their spans, rows as
//! tall as their tallest item.

use super::{Area, Item, Layouter, Place};
use crate::deck::Rect;
use crate::document::Element;
use crate::style::Cross;

impl Layouter<'_, '_> {
    /// A grid: columns from the template, items placed row by row, rows as tall as their
    /// tallest item.
    pub(super) fn grid(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
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
}
