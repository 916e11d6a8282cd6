//! Block boxes and block flow: an element laid out as a box (a text box when its content is
//! all inline, else its children by its display), block children one below the other with
//! margins collapsed, text between them as paragraphs of its own, and lists as paragraphs with
//! bullets and numbers, nested lists one level deeper.

use super::paint::{frame, side_bars};
use super::{has_text, is_heading, is_inline_content, resolve, sides, Area, Layouter, Place};
use crate::css::Length;
use crate::deck::{Anchor, Bullet, Frame, Paragraph, Rect, Shape, TextBox};
use crate::document::{Element, Node};
use crate::style::{Cross, Display, Justify, ListStyle, Position, Style};
use crate::text::{self, Runs};

impl Layouter<'_, '_> {
    /// Lays out `element` as a box at `place`; returns its height.
    pub(super) fn block(&mut self, element: &Element, place: Place, parent: Area, cb: Rect) -> f32 {
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
                Some(Length::Px(px)) => Some(px),
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

    /// Block flow: block children one below the other, margins collapsed, runs of inline
    /// content between them as paragraphs.
    pub(super) fn flow(&mut self, element: &Element, area: Area, cb: Rect) -> f32 {
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
    pub(super) fn anonymous(&mut self, nodes: &[&Node], style: &Style, area: Area, y: f32) -> f32 {
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
    pub(super) fn horizontal(&mut self, child: &Element, area: Area) -> (f32, f32) {
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
    pub(super) fn is_text_row(&self, element: &Element) -> bool {
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
