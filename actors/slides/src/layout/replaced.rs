//! Replaced elements: `<img>` pictures sized by the page or by their own proportions, and
//! background images under their box, fitted (`cover` crops, a fixed box shows the whole
//! image centred).

use super::Layouter;
use crate::css::Length;
use crate::deck::{Picture, Rect, Shape};
use crate::document::Element;

impl Layouter<'_, '_> {
    /// An `<img>` at (x, y): its size from the page, or its own proportions.
    pub(super) fn image(
        &mut self,
        element: &Element,
        x: f32,
        y: f32,
        w: f32,
        explicit: Option<f32>,
    ) -> f32 {
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
            Some(Length::Px(px)) => Some(px),
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

    pub(super) fn background_picture(&mut self, source: &str, rect: Rect, cover: bool) {
        let mark = self.shapes.len();
        self.background_picture_at(mark, source, rect, cover);
    }

    /// A background image under everything drawn since `mark`.
    pub(super) fn background_picture_at(
        &mut self,
        mark: usize,
        source: &str,
        rect: Rect,
        cover: bool,
    ) {
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
