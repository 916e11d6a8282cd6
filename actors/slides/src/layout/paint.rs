//! A box's paint: its fill and border as one shape when the border is the same all round,
//! else a bar per bordered side.

use super::Layouter;
use crate::deck::{Frame, Line, Rect, Shape};
use crate::style::{Fill, Style};

impl Layouter<'_, '_> {
    /// The box's fill and border under everything drawn since `mark`: one shape when the
    /// border is the same all round, else a bar per bordered side.
    pub(super) fn borders(&mut self, style: &Style, rect: Rect, mark: usize) {
        let mut shapes = Vec::new();
        if style.background.is_some() || border_line(style).is_some() {
            shapes.push(Shape::Box(frame(style, rect)));
        }
        shapes.extend(side_bars(style, rect));
        let mark = mark.min(self.shapes.len());
        self.shapes.splice(mark..mark, shapes);
    }
}

/// Each side's border (top, right, bottom, left).
pub(super) fn side_lines(style: &Style) -> [Option<Line>; 4] {
    let color = style.border_color.unwrap_or(style.color);
    style
        .border_width
        .map(|width| (width > 0.0).then_some(Line { width, color }))
}

/// The border as a shape's outline, when it is the same all round.
pub(super) fn border_line(style: &Style) -> Option<Line> {
    let w = style.border_width;
    (w[0] > 0.0 && w.iter().all(|&x| x == w[0])).then(|| Line {
        width: w[0],
        color: style.border_color.unwrap_or(style.color),
    })
}

/// The box's outside as `style` paints it: its fill, its outline and its rounding.
pub(super) fn frame(style: &Style, rect: Rect) -> Frame {
    Frame {
        rect,
        fill: style.background.clone(),
        line: border_line(style),
        radius: style.radius,
    }
}

/// A bar per bordered side, for borders that differ between sides (a shape's outline is the
/// same all round).
pub(super) fn side_bars(style: &Style, rect: Rect) -> Vec<Shape> {
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
