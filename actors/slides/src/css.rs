//! CSS as the slides converter reads it: declaration lists, simple style sheets, lengths,
//! colours and linear gradients. Anything it does not understand is skipped, as a browser would.

/// One `property: value` pair, the property lower-cased, `!important` dropped.
pub(crate) type Declaration = (String, String);

/// A style sheet rule: its selector text and declarations (`@apply` kept as a declaration).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub selectors: String,
    pub declarations: Vec<Declaration>,
}

/// Splits `text` at `separator` where it is not inside parentheses or quotes.
pub(crate) fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, c) if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The declarations of a `style` attribute or a rule body.
pub(crate) fn parse_declarations(text: &str) -> Vec<Declaration> {
    split_top_level(text, ';')
        .into_iter()
        .filter_map(|part| {
            let part = part.trim();
            if let Some(classes) = part.strip_prefix("@apply") {
                return Some(("@apply".to_owned(), classes.trim().to_owned()));
            }
            let (name, value) = part.split_once(':')?;
            let value = value.trim();
            let value = value
                .strip_suffix("!important")
                .map_or(value, str::trim_end)
                .to_owned();
            let name = name.trim().to_ascii_lowercase();
            (!name.is_empty() && !value.is_empty()).then_some((name, value))
        })
        .collect()
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// The index just past the `}` that closes the block opened before `text` starts.
fn block_end(text: &str) -> usize {
    let mut depth = 1usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// The rules of a style sheet. Rules inside `@media`, `@layer` and `@supports` count (a slide is
/// one wide screen); other at-rules (`@keyframes`, `@font-face`, `@import` ...) are skipped.
pub(crate) fn parse_stylesheet(text: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    collect_rules(&strip_comments(text), &mut rules);
    rules
}

fn collect_rules(mut text: &str, rules: &mut Vec<Rule>) {
    loop {
        let Some(open) = text.find('{') else { return };
        let prelude = text[..open].trim();
        // A statement at-rule (`@import ...;`) before the block belongs to nothing.
        let prelude = prelude.rsplit(';').next().unwrap_or(prelude).trim();
        let body_start = open + 1;
        let end = body_start + block_end(&text[body_start..]);
        let body = &text[body_start..end];
        if let Some(at_rule) = prelude.strip_prefix('@') {
            let name = at_rule.split_whitespace().next().unwrap_or_default();
            if matches!(name, "media" | "layer" | "supports") {
                collect_rules(body, rules);
            }
        } else if !prelude.is_empty() {
            rules.push(Rule {
                selectors: prelude.to_owned(),
                declarations: parse_declarations(body),
            });
        }
        text = text.get(end + 1..).unwrap_or_default();
    }
}

/// A CSS length before it is resolved against its context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Length {
    Px(f32),
    /// Of the containing block's width (or height, for heights and vertical offsets).
    Percent(f32),
    /// Of the element's own font size.
    Em(f32),
    Auto,
}

impl Length {
    /// Pixels, given the basis for percentages and the font size for `em`; `None` for `auto`.
    pub fn resolve(self, basis: f32, font_size: f32) -> Option<f32> {
        match self {
            Length::Px(px) => Some(px),
            Length::Percent(p) => Some(basis * p / 100.0),
            Length::Em(em) => Some(em * font_size),
            Length::Auto => None,
        }
    }
}

/// Pixels per CSS unit for the absolute units a slide can use.
const REM_PX: f32 = 16.0;

/// A length: `12px`, `1.5rem`, `2em`, `50%`, `12pt`, `0`, `auto`; `calc()` and viewport units
/// are not understood.
pub(crate) fn length(value: &str) -> Option<Length> {
    let value = value.trim();
    if value == "auto" {
        return Some(Length::Auto);
    }
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f32 = number.parse().ok()?;
    if !number.is_finite() {
        return None;
    }
    match unit.to_ascii_lowercase().as_str() {
        "px" => Some(Length::Px(number)),
        "" if number == 0.0 => Some(Length::Px(0.0)),
        "rem" => Some(Length::Px(number * REM_PX)),
        "em" => Some(Length::Em(number)),
        "%" => Some(Length::Percent(number)),
        "pt" => Some(Length::Px(number * 96.0 / 72.0)),
        "in" => Some(Length::Px(number * 96.0)),
        "cm" => Some(Length::Px(number * 96.0 / 2.54)),
        "mm" => Some(Length::Px(number * 96.0 / 25.4)),
        _ => None,
    }
}

/// An sRGB colour with opacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    /// 0 (transparent) to 1 (opaque).
    pub alpha: f32,
}

impl Color {
    pub const BLACK: Color = Color::rgb(0, 0, 0);

    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self {
            r,
            g,
            b,
            alpha: 1.0,
        }
    }

    /// `RRGGBB`, as OOXML writes it.
    pub fn hex(self) -> String {
        format!("{:02X}{:02X}{:02X}", self.r, self.g, self.b)
    }

    pub fn is_transparent(self) -> bool {
        self.alpha <= 0.0
    }
}

const NAMED: &[(&str, Color)] = &[
    ("black", Color::rgb(0, 0, 0)),
    ("white", Color::rgb(255, 255, 255)),
    ("red", Color::rgb(255, 0, 0)),
    ("green", Color::rgb(0, 128, 0)),
    ("blue", Color::rgb(0, 0, 255)),
    ("yellow", Color::rgb(255, 255, 0)),
    ("orange", Color::rgb(255, 165, 0)),
    ("purple", Color::rgb(128, 0, 128)),
    ("gray", Color::rgb(128, 128, 128)),
    ("grey", Color::rgb(128, 128, 128)),
    ("silver", Color::rgb(192, 192, 192)),
    ("maroon", Color::rgb(128, 0, 0)),
    ("navy", Color::rgb(0, 0, 128)),
    ("teal", Color::rgb(0, 128, 128)),
    ("olive", Color::rgb(128, 128, 0)),
    ("lime", Color::rgb(0, 255, 0)),
    ("aqua", Color::rgb(0, 255, 255)),
    ("cyan", Color::rgb(0, 255, 255)),
    ("fuchsia", Color::rgb(255, 0, 255)),
    ("magenta", Color::rgb(255, 0, 255)),
    ("pink", Color::rgb(255, 192, 203)),
    ("brown", Color::rgb(165, 42, 42)),
    ("gold", Color::rgb(255, 215, 0)),
    ("indigo", Color::rgb(75, 0, 130)),
    ("violet", Color::rgb(238, 130, 238)),
    ("crimson", Color::rgb(220, 20, 60)),
    ("coral", Color::rgb(255, 127, 80)),
    ("salmon", Color::rgb(250, 128, 114)),
    ("tomato", Color::rgb(255, 99, 71)),
    ("khaki", Color::rgb(240, 230, 140)),
    ("beige", Color::rgb(245, 245, 220)),
    ("ivory", Color::rgb(255, 255, 240)),
    ("lavender", Color::rgb(230, 230, 250)),
    ("whitesmoke", Color::rgb(245, 245, 245)),
    ("lightgray", Color::rgb(211, 211, 211)),
    ("lightgrey", Color::rgb(211, 211, 211)),
    ("darkgray", Color::rgb(169, 169, 169)),
    ("darkgrey", Color::rgb(169, 169, 169)),
    ("dimgray", Color::rgb(105, 105, 105)),
    ("darkblue", Color::rgb(0, 0, 139)),
    ("darkgreen", Color::rgb(0, 100, 0)),
    ("darkred", Color::rgb(139, 0, 0)),
    ("lightblue", Color::rgb(173, 216, 230)),
    ("skyblue", Color::rgb(135, 206, 235)),
    ("steelblue", Color::rgb(70, 130, 180)),
    ("royalblue", Color::rgb(65, 105, 225)),
    ("midnightblue", Color::rgb(25, 25, 112)),
    ("slategray", Color::rgb(112, 128, 144)),
    (
        "transparent",
        Color {
            r: 0,
            g: 0,
            b: 0,
            alpha: 0.0,
        },
    ),
];

/// A colour: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`, `hsl()`/`hsla()`, or
/// a colour name.
pub(crate) fn color(value: &str) -> Option<Color> {
    let value = value.trim();
    if let Some(hex) = value.strip_prefix('#') {
        return hex_color(hex);
    }
    let lower = value.to_ascii_lowercase();
    if let Some((function, args)) = lower.split_once('(') {
        let args = args.strip_suffix(')')?;
        let parts: Vec<&str> = args
            .split(|c: char| c == ',' || c == '/' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        let alpha = match parts.get(3) {
            Some(a) => match a.strip_suffix('%') {
                Some(p) => p.parse::<f32>().ok()? / 100.0,
                None => a.parse().ok()?,
            },
            None => 1.0,
        };
        let alpha = alpha.clamp(0.0, 1.0);
        return match function.trim() {
            "rgb" | "rgba" if parts.len() >= 3 => {
                let channel = |p: &str| -> Option<u8> {
                    let v = match p.strip_suffix('%') {
                        Some(p) => p.parse::<f32>().ok()? * 2.55,
                        None => p.parse::<f32>().ok()?,
                    };
                    Some(v.round().clamp(0.0, 255.0) as u8)
                };
                Some(Color {
                    r: channel(parts[0])?,
                    g: channel(parts[1])?,
                    b: channel(parts[2])?,
                    alpha,
                })
            }
            "hsl" | "hsla" if parts.len() >= 3 => {
                let hue: f32 = parts[0].trim_end_matches("deg").parse().ok()?;
                let percent = |p: &str| -> Option<f32> {
                    Some(p.trim_end_matches('%').parse::<f32>().ok()? / 100.0)
                };
                let (r, g, b) = hsl_to_rgb(hue, percent(parts[1])?, percent(parts[2])?);
                Some(Color { r, g, b, alpha })
            }
            _ => None,
        };
    }
    NAMED.iter().find(|(n, _)| *n == lower).map(|&(_, c)| c)
}

fn hex_color(hex: &str) -> Option<Color> {
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok().map(|d| d * 17);
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    let (r, g, b, a) = match hex.len() {
        3 => (digit(0)?, digit(1)?, digit(2)?, 255),
        4 => (digit(0)?, digit(1)?, digit(2)?, digit(3)?),
        6 => (pair(0)?, pair(2)?, pair(4)?, 255),
        8 => (pair(0)?, pair(2)?, pair(4)?, pair(6)?),
        _ => return None,
    };
    Some(Color {
        r,
        g,
        b,
        alpha: f32::from(a) / 255.0,
    })
}

fn hsl_to_rgb(hue: f32, saturation: f32, lightness: f32) -> (u8, u8, u8) {
    let (s, l) = (saturation.clamp(0.0, 1.0), lightness.clamp(0.0, 1.0));
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let h = hue.rem_euclid(360.0) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let channel = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (channel(r), channel(g), channel(b))
}

/// A linear gradient: CSS angle (0 = towards the top, 90 = towards the right) and colour stops
/// at fractions 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gradient {
    pub angle: f32,
    pub stops: Vec<(Color, f32)>,
}

/// The angle of a `to <side>` direction.
pub(crate) fn direction_angle(direction: &str) -> Option<f32> {
    let words: Vec<&str> = direction.split_whitespace().collect();
    if words.first() != Some(&"to") {
        return None;
    }
    let has = |w: &str| words.contains(&w);
    Some(
        match (has("top"), has("right"), has("bottom"), has("left")) {
            (true, true, _, _) => 45.0,
            (_, true, true, _) => 135.0,
            (_, _, true, true) => 225.0,
            (true, _, _, true) => 315.0,
            (true, ..) => 0.0,
            (_, true, ..) => 90.0,
            (_, _, true, _) => 180.0,
            (.., true) => 270.0,
            _ => return None,
        },
    )
}

/// The first `linear-gradient(...)` in a background value.
pub(crate) fn linear_gradient(value: &str) -> Option<Gradient> {
    let start = value.find("linear-gradient(")? + "linear-gradient(".len();
    let inner = &value[start..];
    let inner = &inner[..inner.rfind(')')?];
    let mut args = split_top_level(inner, ',').into_iter().map(str::trim);
    let first = args.next()?;
    let (angle, first_stop) = if let Some(deg) = first.strip_suffix("deg") {
        (deg.trim().parse().ok()?, None)
    } else if let Some(turn) = first.strip_suffix("turn") {
        (turn.trim().parse::<f32>().ok()? * 360.0, None)
    } else if let Some(angle) = direction_angle(first) {
        (angle, None)
    } else {
        (180.0, Some(first))
    };
    let mut stops: Vec<(Color, Option<f32>)> = Vec::new();
    for stop in first_stop.into_iter().chain(args) {
        // The colour may itself contain spaces (`rgb(0 0 0)`): the position is the last word
        // when it ends with `%`.
        let (color_text, position) = match stop.rsplit_once(' ') {
            Some((c, p)) if p.ends_with('%') => (c, p.trim_end_matches('%').parse::<f32>().ok()),
            _ => (stop, None),
        };
        stops.push((color(color_text)?, position.map(|p| p / 100.0)));
    }
    if stops.len() < 2 {
        return None;
    }
    let last = stops.len() - 1;
    let stops = stops
        .iter()
        .enumerate()
        .map(|(i, &(c, p))| (c, p.unwrap_or(i as f32 / last as f32).clamp(0.0, 1.0)))
        .collect();
    Some(Gradient { angle, stops })
}

/// The target of the first `url(...)` in a value.
pub(crate) fn url(value: &str) -> Option<String> {
    let start = value.find("url(")? + 4;
    let inner = &value[start..];
    let inner = inner[..inner.rfind(')')?].trim();
    let inner = inner
        .strip_prefix(['"', '\''])
        .and_then(|s| s.strip_suffix(['"', '\'']))
        .unwrap_or(inner);
    (!inner.is_empty()).then(|| inner.to_owned())
}

/// One to four box values (`margin: 1px 2px`) as top, right, bottom, left.
pub(crate) fn four_sides(value: &str) -> Option<[&str; 4]> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    Some(match parts.as_slice() {
        [a] => [a, a, a, a],
        [v, h] => [v, h, v, h],
        [t, h, b] => [t, h, b, h],
        [t, r, b, l] => [t, r, b, l],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_keep_semicolons_inside_urls_and_drop_important() {
        let d = parse_declarations(
            "color: red !important; background: url(data:image/png;base64,AAA=); ; bad",
        );
        assert_eq!(
            d,
            vec![
                ("color".into(), "red".into()),
                (
                    "background".into(),
                    "url(data:image/png;base64,AAA=)".into()
                ),
            ]
        );
    }

    #[test]
    fn stylesheet_reads_rules_inside_layers_and_media_and_skips_keyframes() {
        let rules = parse_stylesheet(
            "/* c */ @import url(x.css); h1 { color: red }
             @layer utilities { .ppt-slide { @apply relative w-[1024px] p-[30px]; } }
             @keyframes spin { from { opacity: 0 } to { opacity: 1 } }
             @media (min-width: 10px) { p, li { font-size: 20px; } }",
        );
        let selectors: Vec<&str> = rules.iter().map(|r| r.selectors.as_str()).collect();
        assert_eq!(selectors, ["h1", ".ppt-slide", "p, li"]);
        assert_eq!(
            rules[1].declarations,
            vec![(
                "@apply".to_owned(),
                "relative w-[1024px] p-[30px]".to_owned()
            )]
        );
    }

    #[test]
    fn lengths_resolve_units_percentages_and_ems() {
        assert_eq!(length("12px"), Some(Length::Px(12.0)));
        assert_eq!(length("1.5rem"), Some(Length::Px(24.0)));
        assert_eq!(length("0"), Some(Length::Px(0.0)));
        assert_eq!(length("12pt"), Some(Length::Px(16.0)));
        assert_eq!(length("50%").unwrap().resolve(300.0, 16.0), Some(150.0));
        assert_eq!(length("2em").unwrap().resolve(0.0, 20.0), Some(40.0));
        assert_eq!(length("auto"), Some(Length::Auto));
        assert_eq!(length("calc(100% - 2px)"), None);
        assert_eq!(length("12"), None);
    }

    #[test]
    fn colors_parse_every_common_notation() {
        assert_eq!(color("#fff"), Some(Color::rgb(255, 255, 255)));
        assert_eq!(color("#1E40AF"), Some(Color::rgb(0x1e, 0x40, 0xaf)));
        assert_eq!(color("rgb(10, 20, 30)"), Some(Color::rgb(10, 20, 30)));
        let translucent = color("rgba(255 0 0 / 50%)").unwrap();
        assert_eq!((translucent.r, translucent.alpha), (255, 0.5));
        assert_eq!(color("hsl(0, 100%, 50%)"), Some(Color::rgb(255, 0, 0)));
        assert_eq!(color("Navy"), Some(Color::rgb(0, 0, 128)));
        assert!(color("transparent").unwrap().is_transparent());
        assert_eq!(color("#12"), None);
        assert_eq!(color("nonsense"), None);
    }

    #[test]
    fn gradients_read_angle_direction_and_stops() {
        let g = linear_gradient("linear-gradient(135deg, #667eea 0%, #764ba2 100%)").unwrap();
        assert_eq!(g.angle, 135.0);
        assert_eq!(g.stops[1], (Color::rgb(0x76, 0x4b, 0xa2), 1.0));
        let g = linear_gradient("linear-gradient(to right, red, rgb(0, 0, 255), white)").unwrap();
        assert_eq!(g.angle, 90.0);
        assert_eq!(g.stops.len(), 3);
        assert_eq!(g.stops[1].1, 0.5);
        let g = linear_gradient("linear-gradient(red, blue)").unwrap();
        assert_eq!(g.angle, 180.0);
        assert_eq!(linear_gradient("linear-gradient(red)"), None);
    }

    #[test]
    fn urls_lose_their_quotes() {
        assert_eq!(url("url('a b.png') no-repeat").as_deref(), Some("a b.png"));
        assert_eq!(url("url(x.jpg)").as_deref(), Some("x.jpg"));
        assert_eq!(url("none"), None);
    }
}
