//! An element's computed style: the properties a slide can show, filled in from the declarations
//! that apply to it, in cascade order, on top of what it inherits from its parent.

use crate::css::{self, Color, Gradient, Length};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    Block,
    Inline,
    InlineBlock,
    Flex,
    Grid,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Static,
    Relative,
    Absolute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
    Justify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    None,
    Upper,
    Lower,
    Capitalize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListStyle {
    None,
    Disc,
    Circle,
    Square,
    Decimal,
    LowerAlpha,
    UpperAlpha,
    LowerRoman,
    UpperRoman,
}

/// Where items sit along a flex container's main axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Justify {
    Start,
    Center,
    End,
    Between,
    Around,
    Evenly,
}

/// Where items sit across a flex container's main axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cross {
    Stretch,
    Start,
    Center,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LineHeight {
    /// `normal`: about 1.2 times the font size.
    Normal,
    Ratio(f32),
    Px(f32),
}

/// A shape's fill.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fill {
    Solid(Color),
    Gradient(Gradient),
}

/// Tailwind's gradient utilities, combined into a gradient once the cascade is done.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TailwindGradient {
    direction: Option<f32>,
    from: Option<Color>,
    via: Option<Color>,
    to: Option<Color>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Style {
    // Inherited.
    pub font_size: f32,
    pub line_height: LineHeight,
    pub color: Color,
    pub weight: u16,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    pub align: Align,
    pub font_family: Option<String>,
    pub transform: Transform,
    pub list_style: ListStyle,
    pub preserve_whitespace: bool,
    // Not inherited.
    pub display: Display,
    pub position: Position,
    /// top, right, bottom, left
    pub offsets: [Option<Length>; 4],
    pub width: Option<Length>,
    pub height: Option<Length>,
    pub min_height: Option<Length>,
    pub max_width: Option<Length>,
    pub margin: [Length; 4],
    pub padding: [Length; 4],
    pub border_width: [f32; 4],
    /// `None`: the text colour.
    pub border_color: Option<Color>,
    pub radius: f32,
    pub background: Option<Fill>,
    pub background_image: Option<String>,
    pub cover: bool,
    pub column: bool,
    pub wrap: bool,
    pub justify: Justify,
    pub cross: Cross,
    pub row_gap: Length,
    pub column_gap: Length,
    pub flex_grow: f32,
    /// Fraction weights of the grid's columns; empty when not a grid with columns.
    pub grid_columns: Vec<f32>,
    pub column_span: usize,
    pub space_y: f32,
    pub space_x: f32,
    /// The element's opacity, applied to its own fill and border.
    pub opacity: f32,
    tw_gradient: TailwindGradient,
}

impl Style {
    /// The style of the document root: 16 px black text.
    pub fn root(tailwind: bool) -> Self {
        Self {
            font_size: 16.0,
            line_height: if tailwind {
                LineHeight::Ratio(1.5)
            } else {
                LineHeight::Normal
            },
            color: Color::BLACK,
            weight: 400,
            italic: false,
            underline: false,
            strike: false,
            align: Align::Left,
            font_family: None,
            transform: Transform::None,
            list_style: ListStyle::Disc,
            preserve_whitespace: false,
            display: Display::Block,
            position: Position::Static,
            offsets: [None; 4],
            width: None,
            height: None,
            min_height: None,
            max_width: None,
            margin: [Length::Px(0.0); 4],
            padding: [Length::Px(0.0); 4],
            border_width: [0.0; 4],
            border_color: None,
            radius: 0.0,
            background: None,
            background_image: None,
            cover: false,
            column: false,
            wrap: false,
            justify: Justify::Start,
            cross: Cross::Stretch,
            row_gap: Length::Px(0.0),
            column_gap: Length::Px(0.0),
            flex_grow: 0.0,
            grid_columns: Vec::new(),
            column_span: 1,
            space_y: 0.0,
            space_x: 0.0,
            opacity: 1.0,
            tw_gradient: TailwindGradient::default(),
        }
    }

    /// What a child starts from: the inherited properties, the others reset.
    pub fn inherit(&self) -> Self {
        let root = Self::root(false);
        Self {
            font_size: self.font_size,
            line_height: self.line_height,
            color: self.color,
            weight: self.weight,
            italic: self.italic,
            underline: self.underline,
            strike: self.strike,
            align: self.align,
            font_family: self.font_family.clone(),
            transform: self.transform,
            list_style: self.list_style,
            preserve_whitespace: self.preserve_whitespace,
            ..root
        }
    }

    pub fn bold(&self) -> bool {
        self.weight >= 600
    }

    /// The line height in pixels.
    pub fn line_height_px(&self) -> f32 {
        match self.line_height {
            LineHeight::Normal => self.font_size * 1.2,
            LineHeight::Ratio(r) => self.font_size * r,
            LineHeight::Px(px) => px,
        }
    }

    /// Whether the element takes part in the flow as a box of its own.
    pub fn is_block_level(&self) -> bool {
        !matches!(self.display, Display::Inline | Display::InlineBlock)
    }

    /// Applies one declaration. `parent` is the parent's computed style (for `em`, `%` and
    /// `inherit`).
    pub fn apply(&mut self, parent: &Style, property: &str, value: &str) {
        let value = value.trim();
        if value == "inherit" {
            self.inherit_property(parent, property);
            return;
        }
        match property {
            "font-size" => {
                if let Some(size) = font_size(value, parent.font_size) {
                    self.font_size = size;
                }
            }
            "line-height" => {
                self.line_height = match (value, value.parse::<f32>()) {
                    ("normal", _) => LineHeight::Normal,
                    (_, Ok(ratio)) => LineHeight::Ratio(ratio),
                    _ => match css::length(value).and_then(|l| l.resolve(100.0, self.font_size)) {
                        Some(px) if value.ends_with('%') => LineHeight::Ratio(px / 100.0),
                        Some(px) => LineHeight::Px(px),
                        None => return,
                    },
                }
            }
            "color" => {
                if let Some(c) = css::color(value) {
                    self.color = c;
                }
            }
            "font-weight" => {
                self.weight = match value {
                    "normal" => 400,
                    "bold" => 700,
                    "bolder" => (parent.weight + 300).min(900),
                    "lighter" => parent.weight.saturating_sub(300).max(100),
                    _ => value.parse().unwrap_or(self.weight),
                }
            }
            "font-style" => self.italic = matches!(value, "italic" | "oblique"),
            "text-decoration" | "text-decoration-line" => {
                self.underline = value.contains("underline");
                self.strike = value.contains("line-through");
            }
            "text-align" => {
                self.align = match value {
                    "center" => Align::Center,
                    "right" | "end" => Align::Right,
                    "justify" => Align::Justify,
                    _ => Align::Left,
                }
            }
            "font-family" => self.font_family = family(value),
            "font" => {
                // `font: italic bold 20px/1.4 Georgia, serif`: the size and family.
                let words: Vec<&str> = value.split_whitespace().collect();
                if let Some(i) = words.iter().position(|w| {
                    font_size(w.split('/').next().unwrap_or(w), parent.font_size).is_some()
                }) {
                    for word in &words[..i] {
                        self.apply(parent, "font-weight", word);
                        if *word == "italic" {
                            self.italic = true;
                        }
                    }
                    let (size, line) = words[i].split_once('/').unwrap_or((words[i], ""));
                    self.apply(parent, "font-size", size);
                    if !line.is_empty() {
                        self.apply(parent, "line-height", line);
                    }
                    self.font_family = family(&words[i + 1..].join(" "));
                }
            }
            "text-transform" => {
                self.transform = match value {
                    "uppercase" => Transform::Upper,
                    "lowercase" => Transform::Lower,
                    "capitalize" => Transform::Capitalize,
                    _ => Transform::None,
                }
            }
            "list-style" | "list-style-type" => {
                for word in value.split_whitespace() {
                    if let Some(style) = list_style(word) {
                        self.list_style = style;
                    }
                }
            }
            "white-space" => self.preserve_whitespace = value.starts_with("pre"),
            "display" => {
                self.display = match value.split_whitespace().last().unwrap_or(value) {
                    "none" => Display::None,
                    "inline" => Display::Inline,
                    "inline-block" => Display::InlineBlock,
                    "flex" | "inline-flex" => Display::Flex,
                    "grid" | "inline-grid" => Display::Grid,
                    _ => Display::Block,
                }
            }
            "position" => {
                self.position = match value {
                    "absolute" | "fixed" => Position::Absolute,
                    "relative" | "sticky" => Position::Relative,
                    _ => Position::Static,
                }
            }
            "top" | "right" | "bottom" | "left" => {
                let i = side_index(property);
                self.offsets[i] = css::length(value).filter(|l| *l != Length::Auto);
            }
            "width" => self.width = css::length(value),
            "height" => self.height = css::length(value),
            "min-height" => self.min_height = css::length(value),
            "max-width" => self.max_width = css::length(value).filter(|l| *l != Length::Auto),
            "margin" | "padding" => {
                if let Some(sides) = css::four_sides(value) {
                    for (i, side) in sides.iter().enumerate() {
                        if let Some(l) = css::length(side) {
                            self.box_side(property, i, l);
                        }
                    }
                }
            }
            "margin-top" | "margin-right" | "margin-bottom" | "margin-left" | "padding-top"
            | "padding-right" | "padding-bottom" | "padding-left" => {
                let (kind, side) = property.split_once('-').unwrap_or_default();
                if let Some(l) = css::length(value) {
                    self.box_side(kind, side_index(side), l);
                }
            }
            "border-top-width"
            | "border-right-width"
            | "border-bottom-width"
            | "border-left-width" => {
                let side = property.split('-').nth(1).unwrap_or_default();
                if let Some(px) = css::length(value).and_then(|l| l.resolve(0.0, 0.0)) {
                    self.border_width[side_index(side)] = px;
                }
            }
            "border" | "border-top" | "border-right" | "border-bottom" | "border-left" => {
                let sides: Vec<usize> = match property.strip_prefix("border-") {
                    Some(side) => vec![side_index(side)],
                    None => vec![0, 1, 2, 3],
                };
                self.border(value, &sides);
            }
            "border-width" => {
                if let Some(sides) = css::four_sides(value) {
                    for (i, side) in sides.iter().enumerate() {
                        if let Some(px) = css::length(side).and_then(|l| l.resolve(0.0, 0.0)) {
                            self.border_width[i] = px;
                        }
                    }
                }
            }
            "border-color" => self.border_color = css::color(value).or(self.border_color),
            "border-radius" => {
                let first = value.split_whitespace().next().unwrap_or_default();
                if let Some(px) = css::length(first).and_then(|l| l.resolve(0.0, self.font_size)) {
                    self.radius = px;
                }
            }
            "background" | "background-color" | "background-image" => self.background(value),
            "background-size" => self.cover = value == "cover",
            "object-fit" => self.cover = value == "cover",
            "opacity" => {
                let opacity = match value.strip_suffix('%') {
                    Some(p) => p.parse::<f32>().map(|p| p / 100.0),
                    None => value.parse::<f32>(),
                };
                if let Ok(o) = opacity {
                    self.opacity = o.clamp(0.0, 1.0);
                }
            }
            "flex-direction" => self.column = value.starts_with("column"),
            "flex-wrap" => self.wrap = value == "wrap",
            "flex-flow" => {
                self.column = value.contains("column");
                self.wrap = value.contains("wrap") && !value.contains("nowrap");
            }
            "flex" => {
                self.flex_grow = match value {
                    "none" => 0.0,
                    "auto" => 1.0,
                    _ => value
                        .split_whitespace()
                        .next()
                        .and_then(|g| g.parse().ok())
                        .unwrap_or(0.0),
                }
            }
            "flex-grow" => self.flex_grow = value.parse().unwrap_or(0.0),
            "justify-content" => {
                self.justify = match value {
                    "center" => Justify::Center,
                    "flex-end" | "end" | "right" => Justify::End,
                    "space-between" => Justify::Between,
                    "space-around" => Justify::Around,
                    "space-evenly" => Justify::Evenly,
                    _ => Justify::Start,
                }
            }
            "align-items" => {
                self.cross = match value {
                    "center" => Cross::Center,
                    "flex-start" | "start" | "baseline" => Cross::Start,
                    "flex-end" | "end" => Cross::End,
                    _ => Cross::Stretch,
                }
            }
            "gap" => {
                let mut parts = value.split_whitespace().filter_map(css::length);
                if let Some(row) = parts.next() {
                    self.row_gap = row;
                    self.column_gap = parts.next().unwrap_or(row);
                }
            }
            "row-gap" => self.row_gap = css::length(value).unwrap_or(self.row_gap),
            "column-gap" => self.column_gap = css::length(value).unwrap_or(self.column_gap),
            "grid-template-columns" => self.grid_columns = grid_columns(value),
            "grid-column" => {
                if let Some(n) = value
                    .strip_prefix("span ")
                    .and_then(|n| n.trim().parse().ok())
                {
                    self.column_span = n;
                }
            }
            "--space-y" | "--space-x" => {
                if let Some(px) = css::length(value).and_then(|l| l.resolve(0.0, self.font_size)) {
                    if property == "--space-y" {
                        self.space_y = px;
                    } else {
                        self.space_x = px;
                    }
                }
            }
            "--tw-gradient-direction" => self.tw_gradient.direction = css::direction_angle(value),
            "--tw-gradient-from" => self.tw_gradient.from = css::color(value),
            "--tw-gradient-via" => self.tw_gradient.via = css::color(value),
            "--tw-gradient-to" => self.tw_gradient.to = css::color(value),
            _ => {}
        }
    }

    /// Finishes the cascade: a Tailwind gradient, once all its parts are known, becomes the
    /// background.
    pub fn finish(&mut self) {
        let g = std::mem::take(&mut self.tw_gradient);
        if let (Some(angle), Some(from)) = (g.direction, g.from) {
            let to = g.to.unwrap_or(Color { alpha: 0.0, ..from });
            let mut stops = vec![(from, 0.0)];
            stops.extend(g.via.map(|via| (via, 0.5)));
            stops.push((to, 1.0));
            self.background = Some(Fill::Gradient(Gradient { angle, stops }));
        }
        if self.opacity < 1.0 {
            let fade = |c: &mut Color| c.alpha *= self.opacity;
            match &mut self.background {
                Some(Fill::Solid(c)) => fade(c),
                Some(Fill::Gradient(g)) => g.stops.iter_mut().for_each(|(c, _)| fade(c)),
                None => {}
            }
            if let Some(c) = &mut self.border_color {
                fade(c);
            }
        }
    }

    fn inherit_property(&mut self, parent: &Style, property: &str) {
        match property {
            "color" => self.color = parent.color,
            "font-size" => self.font_size = parent.font_size,
            "font-weight" => self.weight = parent.weight,
            "line-height" => self.line_height = parent.line_height,
            _ => {}
        }
    }

    fn box_side(&mut self, property: &str, side: usize, length: Length) {
        if property == "margin" {
            self.margin[side] = length;
        } else if length != Length::Auto {
            self.padding[side] = length;
        }
    }

    fn border(&mut self, value: &str, sides: &[usize]) {
        let mut width = None;
        let mut visible = true;
        for word in css::split_top_level(value, ' ') {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            if matches!(word, "none" | "hidden") {
                visible = false;
            } else if let Some(px) = css::length(word).and_then(|l| l.resolve(0.0, 0.0)) {
                width = Some(px);
            } else if let Some(c) = css::color(word) {
                self.border_color = Some(c);
            } else if word == "thin" {
                width = Some(1.0);
            }
        }
        let width = if visible { width.unwrap_or(3.0) } else { 0.0 };
        for &side in sides {
            self.border_width[side] = width;
        }
    }

    fn background(&mut self, value: &str) {
        if value == "none" {
            self.background = None;
            self.background_image = None;
        } else if let Some(g) = css::linear_gradient(value) {
            self.background = Some(Fill::Gradient(g));
        } else if let Some(url) = css::url(value) {
            self.background_image = Some(url);
            if value.contains("cover") {
                self.cover = true;
            }
        } else if let Some(c) =
            css::color(value).or_else(|| value.split_whitespace().find_map(css::color))
        {
            self.background = (!c.is_transparent()).then_some(Fill::Solid(c));
        }
    }
}

pub(crate) fn side_index(side: &str) -> usize {
    match side {
        "top" => 0,
        "right" => 1,
        "bottom" => 2,
        _ => 3,
    }
}

fn font_size(value: &str, parent: f32) -> Option<f32> {
    let keyword = match value {
        "xx-small" => Some(9.0),
        "x-small" => Some(10.0),
        "small" => Some(13.0),
        "medium" => Some(16.0),
        "large" => Some(18.0),
        "x-large" => Some(24.0),
        "xx-large" => Some(32.0),
        "smaller" => Some(parent / 1.2),
        "larger" => Some(parent * 1.2),
        _ => None,
    };
    keyword.or_else(|| css::length(value)?.resolve(parent, parent))
}

/// The first named family of a `font-family` list (generic families name none).
pub(crate) fn family(value: &str) -> Option<String> {
    value
        .split(',')
        .map(|f| f.trim().trim_matches(['"', '\'']).trim())
        .find(|f| {
            !f.is_empty()
                && !matches!(
                    *f,
                    "sans-serif"
                        | "serif"
                        | "monospace"
                        | "cursive"
                        | "fantasy"
                        | "system-ui"
                        | "ui-sans-serif"
                        | "ui-serif"
                        | "ui-monospace"
                        | "-apple-system"
                        | "BlinkMacSystemFont"
                        | "inherit"
                )
        })
        .map(str::to_owned)
        .or_else(|| {
            value
                .contains("monospace")
                .then(|| "Courier New".to_owned())
        })
}

fn list_style(word: &str) -> Option<ListStyle> {
    Some(match word {
        "none" => ListStyle::None,
        "disc" => ListStyle::Disc,
        "circle" => ListStyle::Circle,
        "square" => ListStyle::Square,
        "decimal" => ListStyle::Decimal,
        "lower-alpha" | "lower-latin" => ListStyle::LowerAlpha,
        "upper-alpha" | "upper-latin" => ListStyle::UpperAlpha,
        "lower-roman" => ListStyle::LowerRoman,
        "upper-roman" => ListStyle::UpperRoman,
        _ => return None,
    })
}

/// `repeat(3, 1fr)`, `1fr 2fr`, `200px 1fr` (pixel tracks count as one fraction each).
fn grid_columns(value: &str) -> Vec<f32> {
    if let Some(inner) = value
        .strip_prefix("repeat(")
        .and_then(|v| v.strip_suffix(')'))
    {
        let (count, track) = inner.split_once(',').unwrap_or((inner, "1fr"));
        let weight = track.trim().strip_suffix("fr").and_then(|w| w.parse().ok());
        return match count.trim().parse::<usize>() {
            Ok(n) if n > 0 && n <= 64 => vec![weight.unwrap_or(1.0); n],
            _ => Vec::new(),
        };
    }
    css::split_top_level(value, ' ')
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            t.trim()
                .strip_suffix("fr")
                .and_then(|w| w.parse().ok())
                .unwrap_or(1.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(declarations: &[(&str, &str)]) -> Style {
        let parent = Style::root(true);
        let mut style = parent.inherit();
        for (p, v) in declarations {
            style.apply(&parent, p, v);
        }
        style.finish();
        style
    }

    #[test]
    fn inheritance_keeps_text_properties_and_resets_boxes() {
        let parent = styled(&[("color", "red"), ("padding", "10px"), ("font-size", "20px")]);
        let child = parent.inherit();
        assert_eq!(child.color, Color::rgb(255, 0, 0));
        assert_eq!(child.font_size, 20.0);
        assert_eq!(child.padding, [Length::Px(0.0); 4]);
    }

    #[test]
    fn relative_font_sizes_and_line_heights() {
        let s = styled(&[("font-size", "2em"), ("line-height", "1.25")]);
        assert_eq!(s.font_size, 32.0);
        assert_eq!(s.line_height_px(), 40.0);
        let s = styled(&[("font", "italic bold 20px/30px Georgia, serif")]);
        assert!(s.italic && s.bold());
        assert_eq!((s.font_size, s.line_height_px()), (20.0, 30.0));
        assert_eq!(s.font_family.as_deref(), Some("Georgia"));
    }

    #[test]
    fn borders_and_backgrounds() {
        let s = styled(&[("border-left", "4px solid #3b82f6"), ("background", "#fff")]);
        assert_eq!(s.border_width, [0.0, 0.0, 0.0, 4.0]);
        assert_eq!(s.border_color, Some(Color::rgb(0x3b, 0x82, 0xf6)));
        assert_eq!(s.background, Some(Fill::Solid(Color::rgb(255, 255, 255))));
        let s = styled(&[
            ("background-image", "url('bg.png')"),
            ("background-size", "cover"),
        ]);
        assert_eq!(s.background_image.as_deref(), Some("bg.png"));
        assert!(s.cover);
    }

    #[test]
    fn tailwind_gradient_parts_become_one_gradient() {
        let s = styled(&[
            ("--tw-gradient-direction", "to right"),
            ("--tw-gradient-from", "rgba(59, 130, 246, 1)"),
            ("--tw-gradient-to", "rgba(147, 51, 234, 1)"),
        ]);
        let Some(Fill::Gradient(g)) = s.background else {
            panic!("no gradient: {:?}", s.background)
        };
        assert_eq!(g.angle, 90.0);
        assert_eq!(g.stops.len(), 2);
    }

    #[test]
    fn grid_templates_become_column_weights() {
        assert_eq!(grid_columns("repeat(3, minmax(0, 1fr))"), vec![1.0; 3]);
        assert_eq!(grid_columns("1fr 2fr"), vec![1.0, 2.0]);
        assert_eq!(grid_columns("repeat(0, 1fr)"), Vec::<f32>::new());
    }
}
