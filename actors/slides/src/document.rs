//! The HTML document: parsed with a standards-compliant parser, styled by the cascade (browser
//! defaults, the page's style sheets, Tailwind classes, inline styles), and cut into the
//! `.ppt-slide` sections, each a tree of styled elements and text with its speaker notes apart.

use scraper::{ElementRef, Html, Selector};

use crate::css::{self, Declaration};
use crate::style::Style;
use crate::tailwind;

/// A styled node of a slide.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Element(Box<Element>),
    Text(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub tag: String,
    pub style: Style,
    /// `src` of an image.
    pub src: Option<String>,
    /// `alt` of an image.
    pub alt: String,
    /// `colspan` of a table cell.
    pub colspan: usize,
    /// `start` of an ordered list.
    pub start: Option<u32>,
    /// `width` and `height` attributes (images, cells).
    pub size_attrs: (Option<f32>, Option<f32>),
    pub children: Vec<Node>,
    /// Place among all the elements inside its slide, in document order (what
    /// `slide.querySelectorAll("*")` gives a browser); `None` for the slide itself.
    pub order: Option<usize>,
}

impl Element {
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e.as_ref()),
            Node::Text(_) => None,
        })
    }
}

/// One `.ppt-slide` section.
#[derive(Debug, Clone)]
pub(crate) struct SlideSource {
    pub root: Element,
    pub notes: Option<String>,
}

/// A parsed page: its slides styled and cut out, ready to be laid out.
#[derive(Debug)]
pub struct Document {
    pub(crate) title: Option<String>,
    /// Whether the page styles itself with Tailwind (loaded by a script at run time).
    pub(crate) tailwind: bool,
    pub(crate) slides: Vec<SlideSource>,
    /// Things the page has that a deck cannot (`<canvas>`, inline SVG ...), said once each.
    pub(crate) notices: Vec<String>,
}

/// Font Awesome icons (drawn by a web font a deck does not have) that a Unicode character
/// shows well; other icons are left out.
const ICONS: &[(&str, &str)] = &[
    ("check", "✓"),
    ("check-circle", "✓"),
    ("circle-check", "✓"),
    ("square-check", "✓"),
    ("check-square", "✓"),
    ("times", "✗"),
    ("xmark", "✗"),
    ("times-circle", "✗"),
    ("circle-xmark", "✗"),
    ("arrow-up", "↑"),
    ("arrow-down", "↓"),
    ("arrow-right", "→"),
    ("arrow-left", "←"),
    ("arrow-trend-up", "↗"),
    ("arrow-trend-down", "↘"),
    ("chevron-right", "›"),
    ("chevron-left", "‹"),
    ("angle-right", "›"),
    ("angle-left", "‹"),
    ("caret-right", "▸"),
    ("caret-up", "▴"),
    ("caret-down", "▾"),
    ("star", "★"),
    ("heart", "♥"),
    ("circle", "●"),
    ("square", "■"),
    ("plus", "+"),
    ("minus", "−"),
    ("quote-left", "“"),
    ("quote-right", "”"),
    ("exclamation-triangle", "⚠"),
    ("triangle-exclamation", "⚠"),
    ("info-circle", "ⓘ"),
    ("circle-info", "ⓘ"),
    ("bolt", "⚡"),
    ("sun", "☀"),
    ("cloud", "☁"),
    ("envelope", "✉"),
    ("phone", "☎"),
    ("flag", "⚑"),
];

/// The character for an empty Font Awesome icon element (`<i class="fas fa-check">`).
fn icon(element: &scraper::node::Element) -> Option<&'static str> {
    element.classes().find_map(|class| {
        let name = class.strip_prefix("fa-")?;
        ICONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, glyph)| glyph)
    })
}

/// Classes (and `aside` with them) that hold a slide's speaker notes.
const NOTES_CLASSES: [&str; 3] = ["notes", "speaker-notes", "slide-notes"];

/// Elements never shown.
const HIDDEN: [&str; 16] = [
    "head", "script", "style", "template", "noscript", "title", "meta", "link", "base", "input",
    "select", "textarea", "iframe", "video", "audio", "object",
];

const BLOCKS: [&str; 33] = [
    "html",
    "body",
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "thead",
    "tbody",
    "tfoot",
    "hr",
    "dl",
];

/// A style sheet rule's selector, one per comma-separated part, with its specificity.
struct Matcher {
    selector: Selector,
    specificity: (u32, u32, u32),
    order: usize,
    declarations: Vec<Declaration>,
}

pub(crate) fn parse(html: &str) -> Document {
    let document = Html::parse_document(html);
    let tailwind = uses_tailwind(&document);
    let matchers = style_sheets(&document);
    let title = select(&document, "title")
        .into_iter()
        .next()
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut builder = Builder {
        next_order: 0,
        tailwind,
        matchers,
        slides: Vec::new(),
        notices: Vec::new(),
    };
    let root = document.root_element();
    let root_style = Style::root(tailwind);
    let style = builder.style_of(root, &root_style);
    builder.walk(root, &style);
    Document {
        title,
        tailwind,
        slides: builder.slides,
        notices: builder.notices,
    }
}

fn select<'a>(document: &'a Html, selector: &str) -> Vec<ElementRef<'a>> {
    match Selector::parse(selector) {
        Ok(s) => document.select(&s).collect(),
        Err(_) => Vec::new(),
    }
}

fn uses_tailwind(document: &Html) -> bool {
    let script = select(document, "script[src]")
        .iter()
        .any(|s| s.attr("src").is_some_and(|src| src.contains("tailwind")));
    let style = select(document, "style").iter().any(|s| {
        s.attr("type") == Some("text/tailwindcss") || s.text().any(|t| t.contains("@tailwind"))
    });
    script || style
}

fn style_sheets(document: &Html) -> Vec<Matcher> {
    let mut matchers = Vec::new();
    for sheet in select(document, "style") {
        let text: String = sheet.text().collect();
        for rule in css::parse_stylesheet(&text) {
            let declarations = expand_apply(rule.declarations);
            for part in css::split_top_level(&rule.selectors, ',') {
                let part = part.trim();
                if let Ok(selector) = Selector::parse(part) {
                    matchers.push(Matcher {
                        selector,
                        specificity: specificity(part),
                        order: matchers.len(),
                        declarations: declarations.clone(),
                    });
                }
            }
        }
    }
    matchers
}

/// `@apply a b` becomes the declarations of the classes `a` and `b`.
fn expand_apply(declarations: Vec<Declaration>) -> Vec<Declaration> {
    declarations
        .into_iter()
        .flat_map(|(property, value)| {
            if property == "@apply" {
                value
                    .split_whitespace()
                    .flat_map(tailwind::declarations)
                    .collect()
            } else {
                vec![(property, value)]
            }
        })
        .collect()
}

/// (ids, classes and attributes and pseudo-classes, element names) of one selector.
fn specificity(selector: &str) -> (u32, u32, u32) {
    let (mut ids, mut classes, mut types) = (0, 0, 0);
    let mut previous = ' ';
    let mut chars = selector.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => ids += 1,
            '.' | '[' => classes += 1,
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                types += 1;
            }
            ':' => classes += 1,
            c if c.is_ascii_alphabetic() && matches!(previous, ' ' | '>' | '+' | '~') => types += 1,
            _ => {}
        }
        previous = c;
    }
    (ids, classes, types)
}

/// Collapses runs of whitespace into single spaces and trims.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Builder {
    /// The next element's place inside the slide being built.
    next_order: usize,
    tailwind: bool,
    matchers: Vec<Matcher>,
    slides: Vec<SlideSource>,
    notices: Vec<String>,
}

impl Builder {
    fn notice(&mut self, text: String) {
        if !self.notices.contains(&text) {
            self.notices.push(text);
        }
    }

    /// Finds the slides below `element`, styling the way down.
    fn walk(&mut self, element: ElementRef<'_>, style: &Style) {
        for child in element.child_elements() {
            let name = child.value().name();
            if HIDDEN.contains(&name) {
                continue;
            }
            let child_style = self.style_of(child, style);
            if child.value().classes().any(|c| c == "ppt-slide") {
                let mut notes = Vec::new();
                if let Some(n) = child.attr("data-notes") {
                    notes.push(n.trim().to_owned());
                }
                self.next_order = 0;
                let root = self.element(child, child_style, &mut notes, None);
                let notes = notes.join("\n").trim().to_owned();
                self.slides.push(SlideSource {
                    root,
                    notes: (!notes.is_empty()).then_some(notes),
                });
            } else {
                self.walk(child, &child_style);
            }
        }
    }

    /// The styled tree of `element` (already styled), collecting notes elements apart.
    fn element(
        &mut self,
        element: ElementRef<'_>,
        style: Style,
        notes: &mut Vec<String>,
        order: Option<usize>,
    ) -> Element {
        let value = element.value();
        let mut children = Vec::new();
        for child in element.children() {
            if let Some(text) = child.value().as_text() {
                children.push(Node::Text(text.to_string()));
                continue;
            }
            let Some(child) = ElementRef::wrap(child) else {
                continue;
            };
            // Its place in document order, whether it is drawn or not.
            let child_order = self.next_order;
            self.next_order += 1;
            let skip = |builder: &mut Self| {
                builder.next_order += child
                    .descendants()
                    .skip(1)
                    .filter(|n| n.value().is_element())
                    .count();
            };
            let name = child.value().name();
            if child.value().classes().any(|c| NOTES_CLASSES.contains(&c)) {
                notes.push(plain_text(child));
                skip(self);
                continue;
            }
            match name {
                "canvas" => self.notice(
                    "a <canvas> is drawn by a script, which a deck cannot run: draw the chart \
                     into an image (for example with matplotlib) and use <img>"
                        .to_owned(),
                ),
                "svg" => self.notice(
                    "inline <svg> graphics are left out: save them as PNG images and use <img>"
                        .to_owned(),
                ),
                _ => {}
            }
            if HIDDEN.contains(&name) || matches!(name, "canvas" | "svg") {
                skip(self);
                continue;
            }
            let child_style = self.style_of(child, &style);
            if child_style.display == crate::style::Display::None {
                skip(self);
                continue;
            }
            children.push(Node::Element(Box::new(self.element(
                child,
                child_style,
                notes,
                Some(child_order),
            ))));
        }
        if children.is_empty() {
            if let Some(glyph) = icon(value) {
                children.push(Node::Text(glyph.to_owned()));
            }
        }
        let number = |name: &str| value.attr(name).and_then(|v| v.trim().parse::<f32>().ok());
        Element {
            tag: value.name().to_owned(),
            style,
            src: value.attr("src").map(str::to_owned),
            alt: value.attr("alt").unwrap_or_default().to_owned(),
            colspan: number("colspan").map_or(1, |n| (n as usize).clamp(1, 64)),
            start: number("start").map(|n| n.max(1.0) as u32),
            size_attrs: (number("width"), number("height")),
            children,
            order,
        }
    }

    /// The computed style of `element`, given its parent's.
    fn style_of(&self, element: ElementRef<'_>, parent: &Style) -> Style {
        let value = element.value();
        let name = value.name();
        let mut style = parent.inherit();
        if !BLOCKS.contains(&name) {
            style.display = crate::style::Display::Inline;
        }
        for (property, value) in defaults(name, self.tailwind) {
            style.apply(parent, property, value);
        }
        let mut matching: Vec<&Matcher> = self
            .matchers
            .iter()
            .filter(|m| m.selector.matches(&element))
            .collect();
        matching.sort_by_key(|m| (m.specificity, m.order));
        for matcher in matching {
            for (property, value) in &matcher.declarations {
                style.apply(parent, property, value);
            }
        }
        for class in value.classes() {
            for (property, value) in tailwind::declarations(class) {
                style.apply(parent, &property, &value);
            }
        }
        if let Some(inline) = value.attr("style") {
            for (property, value) in css::parse_declarations(inline) {
                style.apply(parent, &property, &value);
            }
        }
        if let Some(color) = value.attr("bgcolor") {
            style.apply(parent, "background-color", color);
        }
        style.finish();
        style
    }
}

/// What a browser's own style sheet gives an element (Tailwind's reset when the page uses
/// Tailwind).
fn defaults(tag: &str, tailwind: bool) -> Vec<(&'static str, &'static str)> {
    let shared: &[(&str, &str)] = match tag {
        "b" | "strong" => &[("font-weight", "bolder")],
        "i" | "em" | "cite" | "var" => &[("font-style", "italic")],
        "u" | "ins" => &[("text-decoration", "underline")],
        "s" | "del" | "strike" => &[("text-decoration", "line-through")],
        "code" | "kbd" | "samp" => &[("font-family", "monospace")],
        "pre" => &[("font-family", "monospace"), ("white-space", "pre")],
        "small" | "sub" | "sup" => &[("font-size", "smaller")],
        "th" => &[("font-weight", "bold")],
        "img" | "button" => &[("display", "inline-block")],
        _ => &[],
    };
    let own: &[(&str, &str)] = if tailwind {
        match tag {
            "ul" | "ol" => &[("list-style-type", "none")],
            "hr" => &[("border-top", "1px solid #e5e7eb")],
            _ => &[],
        }
    } else {
        match tag {
            "h1" => &[
                ("font-size", "2em"),
                ("font-weight", "bold"),
                ("margin", "0.67em 0"),
            ],
            "h2" => &[
                ("font-size", "1.5em"),
                ("font-weight", "bold"),
                ("margin", "0.83em 0"),
            ],
            "h3" => &[
                ("font-size", "1.17em"),
                ("font-weight", "bold"),
                ("margin", "1em 0"),
            ],
            "h4" => &[("font-weight", "bold"), ("margin", "1.33em 0")],
            "h5" => &[
                ("font-size", "0.83em"),
                ("font-weight", "bold"),
                ("margin", "1.67em 0"),
            ],
            "h6" => &[
                ("font-size", "0.67em"),
                ("font-weight", "bold"),
                ("margin", "2.33em 0"),
            ],
            "p" | "dl" => &[("margin", "1em 0")],
            "ul" => &[
                ("margin", "1em 0"),
                ("padding-left", "40px"),
                ("list-style-type", "disc"),
            ],
            "ol" => &[
                ("margin", "1em 0"),
                ("padding-left", "40px"),
                ("list-style-type", "decimal"),
            ],
            "blockquote" | "figure" => &[("margin", "1em 40px")],
            "hr" => &[("border-top", "1px solid #808080"), ("margin", "0.5em 0")],
            "a" => &[("color", "#0000ee"), ("text-decoration", "underline")],
            "th" => &[("text-align", "center"), ("padding", "1px")],
            "td" => &[("padding", "1px")],
            _ => &[],
        }
    };
    shared.iter().chain(own).copied().collect()
}

/// The text of an element, block children on lines of their own.
fn plain_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    fn walk(element: ElementRef<'_>, out: &mut String) {
        for child in element.children() {
            if let Some(text) = child.value().as_text() {
                let text = collapse(text);
                if !text.is_empty() {
                    if !out.is_empty() && !out.ends_with(['\n', ' ']) {
                        out.push(' ');
                    }
                    out.push_str(&text);
                }
            } else if let Some(child) = ElementRef::wrap(child) {
                let name = child.value().name();
                let block = BLOCKS.contains(&name) || name == "br";
                if block && !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                walk(child, out);
            }
        }
    }
    walk(element, &mut out);
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::css::Color;

    fn first_slide(html: &str) -> SlideSource {
        parse(html).slides.into_iter().next().expect("a slide")
    }

    fn find<'a>(element: &'a Element, tag: &str) -> Option<&'a Element> {
        if element.tag == tag {
            return Some(element);
        }
        element.elements().find_map(|e| find(e, tag))
    }

    #[test]
    fn slides_notes_and_title_are_found() {
        let doc = parse(
            r#"<html><head><title> My  deck </title></head><body>
            <div class="ppt-slide"><h1>One</h1><aside class="notes">Say <b>hello</b><p>then go</p></aside></div>
            <div class="ppt-slide" data-notes="second notes"><h1>Two</h1></div>
            <div>not a slide</div></body></html>"#,
        );
        assert_eq!(doc.title.as_deref(), Some("My deck"));
        assert_eq!(doc.slides.len(), 2);
        assert_eq!(doc.slides[0].notes.as_deref(), Some("Say hello\nthen go"));
        assert_eq!(doc.slides[1].notes.as_deref(), Some("second notes"));
        assert!(find(&doc.slides[0].root, "aside").is_none());
    }

    #[test]
    fn cascade_orders_by_specificity_then_classes_then_inline() {
        let slide = first_slide(
            r#"<style>.ppt-slide h1 { color: blue } h1 { color: red; font-size: 40px }</style>
            <div class="ppt-slide"><h1 class="text-5xl">A</h1><h2 style="color: #00ff00" class="text-red-500">B</h2></div>"#,
        );
        let h1 = find(&slide.root, "h1").unwrap();
        assert_eq!(h1.style.color, Color::rgb(0, 0, 255));
        assert_eq!(h1.style.font_size, 48.0, "the class comes after the sheet");
        let h2 = find(&slide.root, "h2").unwrap();
        assert_eq!(h2.style.color, Color::rgb(0, 255, 0));
    }

    #[test]
    fn tailwind_pages_get_tailwinds_reset_and_apply_rules() {
        let html = r#"<script src="https://cdn.tailwindcss.com"></script>
            <style type="text/tailwindcss">@layer utilities { .ppt-slide { @apply relative w-[1024px] h-[576px] p-[30px]; } }</style>
            <div class="ppt-slide"><h1>Plain</h1><ul><li>x</li></ul></div>"#;
        let slide = first_slide(html);
        assert_eq!(slide.root.style.padding[0], css::Length::Px(30.0));
        assert_eq!(slide.root.style.width, Some(css::Length::Px(1024.0)));
        let h1 = find(&slide.root, "h1").unwrap();
        assert_eq!((h1.style.font_size, h1.style.weight), (16.0, 400));
        let ul = find(&slide.root, "ul").unwrap();
        assert_eq!(ul.style.list_style, crate::style::ListStyle::None);

        let plain = first_slide(r#"<div class="ppt-slide"><h1>Plain</h1></div>"#);
        let h1 = find(&plain.root, "h1").unwrap();
        assert_eq!((h1.style.font_size, h1.style.weight), (32.0, 700));
    }

    #[test]
    fn hidden_elements_and_scripts_are_left_out_with_notices_for_graphics() {
        let doc = parse(
            r#"<div class="ppt-slide"><script>alert(1)</script><p class="hidden">no</p>
            <p style="display:none">no</p><canvas id="c"></canvas><p>yes</p></div>"#,
        );
        let root = &doc.slides[0].root;
        assert_eq!(root.elements().count(), 1);
        assert_eq!(doc.notices.len(), 1);
        assert!(doc.notices[0].contains("canvas"));
    }

    #[test]
    fn font_awesome_icons_become_characters_or_nothing() {
        let slide = first_slide(
            r#"<div class="ppt-slide"><p><i class="fas fa-check-circle"></i> Done <i class="fa-solid fa-user"></i></p></div>"#,
        );
        let p = find(&slide.root, "p").unwrap();
        let icons: Vec<&Node> = p.elements().flat_map(|i| &i.children).collect();
        assert!(
            matches!(icons.as_slice(), [Node::Text(t)] if t == "✓"),
            "{icons:?}"
        );
    }

    #[test]
    fn specificity_counts_ids_classes_and_types() {
        assert_eq!(specificity("#a .b p"), (1, 1, 1));
        assert_eq!(specificity("ul > li:first-child"), (0, 1, 2));
        assert_eq!(specificity("p::before"), (0, 0, 2));
    }
}
