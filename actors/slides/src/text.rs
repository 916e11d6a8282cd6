//! Text: inline content gathered into styled runs (whitespace collapsed as a browser does), and
//! the height text takes when wrapped at a width, from average glyph widths.

use crate::deck::{Paragraph, Run, RunStyle};
use crate::document::{Element, Node};
use crate::style::{Display, Style, Transform};

/// Builds the runs of one paragraph.
#[derive(Default)]
pub(crate) struct Runs {
    pub runs: Vec<Run>,
    space_pending: bool,
    at_line_start: bool,
}

impl Runs {
    pub fn new() -> Self {
        Self {
            at_line_start: true,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self
            .runs
            .iter()
            .any(|r| matches!(r, Run::Text { text, .. } if !text.trim().is_empty()))
    }

    pub fn text(&mut self, text: &str, style: &Style) {
        if style.preserve_whitespace {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.line_break();
                }
                if !line.is_empty() {
                    self.push(&transform(line, style.transform), style);
                    self.at_line_start = false;
                }
            }
            return;
        }
        let mut piece = String::new();
        for c in text.chars() {
            if c.is_whitespace() {
                self.space_pending = true;
                continue;
            }
            if self.space_pending && !self.at_line_start {
                // A collapsed space belongs to the text before it (as in a browser), so a
                // styled word that follows does not start with it.
                match self.runs.last_mut() {
                    Some(Run::Text { text, .. }) if piece.is_empty() => text.push(' '),
                    _ => piece.push(' '),
                }
            }
            self.space_pending = false;
            self.at_line_start = false;
            piece.push(c);
        }
        if !piece.is_empty() {
            self.push(&transform(&piece, style.transform), style);
        }
    }

    pub fn line_break(&mut self) {
        self.runs.push(Run::Break);
        self.at_line_start = true;
        self.space_pending = false;
    }

    /// Ends the current line unless it is empty (between blocks flattened into one paragraph).
    pub fn block_boundary(&mut self) {
        if !self.at_line_start {
            self.line_break();
        }
    }

    fn push(&mut self, text: &str, style: &Style) {
        let style = run_style(style);
        if let Some(Run::Text {
            text: last,
            style: s,
        }) = self.runs.last_mut()
        {
            if *s == style {
                last.push_str(text);
                return;
            }
        }
        self.runs.push(Run::Text {
            text: text.to_owned(),
            style,
        });
    }

    /// The runs, without trailing line breaks.
    pub fn finish(mut self) -> Vec<Run> {
        while matches!(self.runs.last(), Some(Run::Break)) {
            self.runs.pop();
        }
        self.runs
    }
}

pub(crate) fn run_style(style: &Style) -> RunStyle {
    RunStyle {
        size: style.font_size,
        line_height: style.line_height_px(),
        bold: style.bold(),
        italic: style.italic,
        underline: style.underline,
        strike: style.strike,
        color: style.color,
        font: style.font_family.clone(),
    }
}

fn transform(text: &str, transform: Transform) -> String {
    match transform {
        Transform::None => text.to_owned(),
        Transform::Upper => text.to_uppercase(),
        Transform::Lower => text.to_lowercase(),
        Transform::Capitalize => {
            let mut out = String::with_capacity(text.len());
            let mut start = true;
            for c in text.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            out
        }
    }
}

/// Adds `nodes` (text and elements, in `style`) to `runs`: inline elements as styled text,
/// `<br>` as a line break, block descendants on lines of their own. Lists below are left out
/// when `skip_lists` (a list item's own nested list is laid out apart).
pub(crate) fn gather(nodes: &[Node], style: &Style, runs: &mut Runs, skip_lists: bool) {
    for node in nodes {
        match node {
            Node::Text(text) => runs.text(text, style),
            Node::Element(e) => gather_element(e, runs, skip_lists),
        }
    }
}

fn gather_element(element: &Element, runs: &mut Runs, skip_lists: bool) {
    match element.tag.as_str() {
        "br" => runs.line_break(),
        "img" => {}
        "ul" | "ol" if skip_lists => {}
        _ => {
            let style = &element.style;
            let block = style.is_block_level() && style.display != Display::Flex;
            if block {
                runs.block_boundary();
            }
            // A margin beside an inline element (an icon's `mr-2`) reads as a space.
            let margin =
                |i: usize| style.margin[i].resolve(0.0, style.font_size).unwrap_or(0.0) > 0.0;
            if margin(3) {
                runs.text(" ", style);
            }
            gather_children(element, runs, skip_lists);
            if block {
                runs.block_boundary();
            } else if margin(1) || matches!(element.tag.as_str(), "td" | "th") {
                runs.text(" ", style);
            }
        }
    }
}

/// The children of `element`; the items of a flex row are apart like words.
pub(crate) fn gather_children(element: &Element, runs: &mut Runs, skip_lists: bool) {
    let style = &element.style;
    if style.display == Display::Flex && !style.column {
        for node in &element.children {
            gather(std::slice::from_ref(node), style, runs, skip_lists);
            runs.text(" ", style);
        }
    } else {
        gather(&element.children, style, runs, skip_lists);
    }
}

/// The pixel width of a character at `size`, from average glyph widths of common fonts.
fn advance(c: char, size: f32, bold: bool) -> f32 {
    let em = match c {
        ' ' => 0.28,
        'i' | 'l' | 'j' | 't' | 'f' | 'I' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.3,
        'm' | 'w' | 'M' | 'W' => 0.85,
        'A'..='Z' => 0.66,
        '0'..='9' => 0.56,
        'a'..='z' => 0.52,
        c if is_wide(c) => 1.0,
        _ => 0.58,
    };
    em * size * if bold { 1.06 } else { 1.0 }
}

/// East Asian wide characters (each one em, and a line may break before any of them).
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1FAFF)
}

/// The width of the runs' widest line when nothing wraps, with a margin for fonts wider than
/// the averages, so text sized to fit does not wrap in the deck.
pub(crate) fn natural_width(runs: &[Run]) -> f32 {
    let width = unwrapped_width(runs);
    if width > 0.0 {
        width * 1.1 + 2.0
    } else {
        0.0
    }
}

fn unwrapped_width(runs: &[Run]) -> f32 {
    let (mut widest, mut line) = (0.0f32, 0.0f32);
    for run in runs {
        match run {
            Run::Text { text, style } => {
                line += text
                    .chars()
                    .map(|c| advance(c, style.size, style.bold))
                    .sum::<f32>();
            }
            Run::Break => {
                widest = widest.max(line);
                line = 0.0;
            }
        }
    }
    widest.max(line)
}

/// How many lines the paragraph takes at `width`, wrapping at spaces and before wide characters.
fn line_count(paragraph: &Paragraph, width: f32) -> usize {
    let width = (width - paragraph.indent).max(1.0);
    let (mut lines, mut line, mut word) = (1usize, 0.0f32, 0.0f32);
    let flush_word = |line: &mut f32, word: &mut f32, lines: &mut usize| {
        if *line > 0.0 && *line + *word > width {
            *lines += 1;
            *line = 0.0;
        }
        *line += *word;
        *word = 0.0;
    };
    for run in &paragraph.runs {
        match run {
            Run::Text { text, style } => {
                for c in text.chars() {
                    let w = advance(c, style.size, style.bold);
                    if c == ' ' {
                        flush_word(&mut line, &mut word, &mut lines);
                        line += w;
                    } else if is_wide(c) {
                        flush_word(&mut line, &mut word, &mut lines);
                        word = w;
                        flush_word(&mut line, &mut word, &mut lines);
                    } else {
                        word += w;
                    }
                }
            }
            Run::Break => {
                flush_word(&mut line, &mut word, &mut lines);
                lines += 1;
                line = 0.0;
            }
        }
    }
    flush_word(&mut line, &mut word, &mut lines);
    lines
}

/// The height of paragraphs laid out at `width`.
pub(crate) fn height(paragraphs: &[Paragraph], width: f32) -> f32 {
    paragraphs
        .iter()
        .map(|p| p.space_before + line_count(p, width) as f32 * p.line_height)
        .sum()
}

/// The line height of a paragraph: its block's, or more where a run is larger.
pub(crate) fn paragraph_line_height(runs: &[Run], block: &Style) -> f32 {
    runs.iter()
        .filter_map(|r| match r {
            Run::Text { style, .. } => Some(style.line_height),
            Run::Break => None,
        })
        .fold(block.line_height_px(), f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Align;

    fn paragraph(text: &str, size: f32) -> Paragraph {
        let mut style = Style::root(false);
        style.font_size = size;
        let mut runs = Runs::new();
        runs.text(text, &style);
        Paragraph {
            runs: runs.finish(),
            align: Align::Left,
            line_height: size * 1.2,
            space_before: 0.0,
            indent: 0.0,
            level: 0,
            bullet: None,
        }
    }

    #[test]
    fn whitespace_collapses_across_runs_and_lines_start_clean() {
        let root = Style::root(false);
        let mut bold = root.inherit();
        bold.weight = 700;
        let mut runs = Runs::new();
        runs.text("  Hello   ", &root);
        runs.text("  world ", &bold);
        runs.line_break();
        runs.text("  next", &root);
        let runs = runs.finish();
        let texts: Vec<String> = runs
            .iter()
            .map(|r| match r {
                Run::Text { text, .. } => text.clone(),
                Run::Break => "|".into(),
            })
            .collect();
        assert_eq!(texts, ["Hello ", "world", "|", "next"]);
    }

    #[test]
    fn long_text_wraps_into_more_lines_at_narrow_widths() {
        let p = paragraph(&"word ".repeat(40), 20.0);
        assert_eq!(line_count(&p, 10_000.0), 1);
        let narrow = line_count(&p, 200.0);
        assert!(narrow >= 8, "{narrow} lines");
        let paragraphs = [p];
        assert!(height(&paragraphs, 200.0) > height(&paragraphs, 400.0));
    }

    #[test]
    fn wide_characters_break_anywhere() {
        let p = paragraph(&"汉".repeat(30), 20.0);
        assert_eq!(line_count(&p, 200.0), 3);
    }

    #[test]
    fn capitalize_and_uppercase_transforms() {
        assert_eq!(
            transform("hello big world", Transform::Capitalize),
            "Hello Big World"
        );
        assert_eq!(transform("abc", Transform::Upper), "ABC");
    }
}
