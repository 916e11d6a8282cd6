//! A deck as layout leaves it and the OOXML writer takes it: shapes placed in slide pixels.

use crate::css::Color;
use crate::style::{Align, Fill};

/// A laid-out deck, ready for [`write_pptx`](crate::write_pptx).
pub struct Deck {
    /// The slides' size in CSS pixels (1024 x 576 unless the page says otherwise).
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) title: Option<String>,
    pub(crate) slides: Vec<Slide>,
    pub(crate) images: Vec<Image>,
}

impl Deck {
    /// Each slide's outline, in order.
    pub fn outline(&self) -> Vec<Outline> {
        self.slides.iter().map(|s| s.outline.clone()).collect()
    }

    /// The page's `<title>`, if it has one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The slides' width and height in CSS pixels.
    pub fn size(&self) -> (f32, f32) {
        (self.width, self.height)
    }
}

pub(crate) struct Slide {
    pub background: Option<Fill>,
    pub shapes: Vec<Shape>,
    pub notes: Option<String>,
    pub outline: Outline,
}

/// What `ppt_slides` reports of a slide.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outline {
    /// The slide's first heading, else its first text.
    pub title: String,
    /// The slide's list items, else its other texts.
    pub bullets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Line {
    pub width: f32,
    pub color: Color,
}

/// A box's outside: where it is and how it is painted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub rect: Rect,
    pub fill: Option<Fill>,
    pub line: Option<Line>,
    pub radius: f32,
}

impl Frame {
    pub fn bare(rect: Rect) -> Self {
        Self {
            rect,
            fill: None,
            line: None,
            radius: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Top,
    Middle,
    Bottom,
}

pub(crate) enum Shape {
    Box(Frame),
    Text(TextBox),
    Picture(Picture),
    Table(Table),
}

pub(crate) struct TextBox {
    pub frame: Frame,
    /// top, right, bottom, left
    pub insets: [f32; 4],
    pub paragraphs: Vec<Paragraph>,
    pub anchor: Anchor,
    /// The slide's title (a title placeholder).
    pub title: bool,
}

pub(crate) struct Picture {
    pub rect: Rect,
    pub image: usize,
    /// Fractions cut from the left, top, right and bottom of the image.
    pub crop: [f32; 4],
    pub description: String,
}

pub(crate) struct Table {
    pub rect: Rect,
    pub columns: Vec<f32>,
    pub rows: Vec<TableRow>,
}

pub(crate) struct TableRow {
    pub height: f32,
    pub cells: Vec<TableCell>,
}

pub(crate) struct TableCell {
    pub paragraphs: Vec<Paragraph>,
    pub fill: Option<Fill>,
    /// Columns this cell spans; 0 for a column covered by the cell before it.
    pub span: usize,
    pub insets: [f32; 4],
    /// Borders: top, right, bottom, left.
    pub lines: [Option<Line>; 4],
    pub anchor: Anchor,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Paragraph {
    pub runs: Vec<Run>,
    pub align: Align,
    /// Pixels from one line's baseline to the next.
    pub line_height: f32,
    pub space_before: f32,
    /// Left margin of the text (the bullet hangs in it).
    pub indent: f32,
    /// Nesting depth of a list item (0 for the outermost list and for other text).
    pub level: u8,
    pub bullet: Option<Bullet>,
}

impl Paragraph {
    /// The paragraph's text, line breaks as spaces.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for run in &self.runs {
            match run {
                Run::Text { text: t, .. } => text.push_str(t),
                Run::Break => text.push(' '),
            }
        }
        text.trim().to_owned()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bullet {
    Char(char),
    /// An OOXML auto-number scheme (`arabicPeriod` ...) and the first number.
    Number(&'static str, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Run {
    Text { text: String, style: RunStyle },
    Break,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunStyle {
    pub size: f32,
    pub line_height: f32,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    pub color: Color,
    pub font: Option<String>,
}

/// An image file embedded in the deck.
pub(crate) struct Image {
    pub bytes: Vec<u8>,
    /// File extension and content type.
    pub format: (&'static str, &'static str),
    pub width: f32,
    pub height: f32,
}
