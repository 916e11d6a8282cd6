//! Absolute positioning: boxes taken out of the flow and placed by their offsets in their
//! containing block (the nearest positioned ancestor's padding box, else the slide).

use super::{resolve, Area, Layouter, Place};
use crate::deck::Rect;
use crate::document::Element;
use crate::style::Position;

impl Layouter<'_, '_> {
    /// Where absolutely positioned children of `element` are placed from.
    pub(super) fn containing_block(&self, element: &Element, rect: Rect, cb: Rect) -> Rect {
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

    /// Absolutely positioned children of `element`, placed in `cb` by their offsets.
    pub(super) fn absolutes(&mut self, element: &Element, cb: Rect) {
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
}
