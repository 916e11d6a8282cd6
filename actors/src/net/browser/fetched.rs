//! Pages without a browser: when Chromium is not installed, `browser_visit` fetches the page
//! through the network guard and reads its HTML (no script runs); state, find and the scrolls
//! work on that text, and click and input answer that they need a browser.

use scraper::{ElementRef, Html};

use crate::net::NetGuard;

/// Pixels of scrolling that move the view by one line of text.
const PX_PER_LINE: i64 = 20;

/// A fetched page: its readable text as lines, its links, and where the view is.
#[derive(Debug, Clone)]
pub(crate) struct FetchedPage {
    pub key: String,
    pub url: String,
    pub title: String,
    pub lines: Vec<String>,
    pub links: Vec<(String, String)>,
    /// The first line in view.
    pub top: usize,
}

/// A session's fetched pages and which one is current.
#[derive(Default)]
pub(super) struct FetchedPages {
    pages: Vec<FetchedPage>,
    current: Option<usize>,
}

/// Fetches and reads a page through the guard.
pub(super) async fn fetch(guard: &NetGuard, key: &str) -> Result<FetchedPage, String> {
    let response = guard.get(key).await.map_err(|e| e.to_string())?;
    if !response.status.is_success() {
        return Err(format!("{key} answered {}", response.status));
    }
    let html = response.text();
    Ok(read(&html, response.url.as_str(), key))
}

impl FetchedPages {
    /// Keeps `page` (in place of an earlier visit of the same key) as the current one.
    pub fn show(&mut self, page: FetchedPage) {
        match self.pages.iter().position(|p| p.key == page.key) {
            Some(i) => {
                self.pages[i] = page;
                self.current = Some(i);
            }
            None => {
                self.pages.push(page);
                self.current = Some(self.pages.len() - 1);
            }
        }
    }

    /// The page named by `key`, else the current one.
    pub fn page(&self, key: Option<&str>) -> Option<FetchedPage> {
        key.and_then(|k| self.pages.iter().find(|p| p.key == k))
            .or_else(|| self.current.and_then(|i| self.pages.get(i)))
            .cloned()
    }

    /// Moves the view of a page by `px` (down when positive); returns the page after.
    pub fn scroll(&mut self, key: Option<&str>, px: i64) -> Option<FetchedPage> {
        let index = key
            .and_then(|k| self.pages.iter().position(|p| p.key == k))
            .or(self.current)?;
        let page = self.pages.get_mut(index)?;
        let lines = px / PX_PER_LINE;
        let top = (page.top as i64 + lines).clamp(0, page.lines.len().saturating_sub(1) as i64);
        page.top = top as usize;
        self.current = Some(index);
        Some(page.clone())
    }
}

const SKIP: [&str; 9] = [
    "script", "style", "noscript", "template", "svg", "nav", "footer", "head", "iframe",
];

/// The title, readable lines and links of an HTML page.
pub(super) fn read(html: &str, url: &str, key: &str) -> FetchedPage {
    let document = Html::parse_document(html);
    let title = scraper::Selector::parse("title")
        .ok()
        .and_then(|s| document.select(&s).next())
        .map(|t| {
            t.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let base = reqwest::Url::parse(url).ok();
    let root = ["article", "main", "body"]
        .iter()
        .find_map(|tag| {
            scraper::Selector::parse(tag)
                .ok()
                .and_then(|s| document.select(&s).next())
        })
        .unwrap_or_else(|| document.root_element());
    let mut out = String::new();
    let mut links = Vec::new();
    walk(root, base.as_ref(), &mut out, &mut links);
    let lines = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    FetchedPage {
        key: key.to_owned(),
        url: url.to_owned(),
        title,
        lines,
        links,
        top: 0,
    }
}

fn walk(
    element: ElementRef<'_>,
    base: Option<&reqwest::Url>,
    out: &mut String,
    links: &mut Vec<(String, String)>,
) {
    for child in element.children() {
        if let Some(text) = child.value().as_text() {
            out.push_str(text);
            continue;
        }
        let Some(child) = ElementRef::wrap(child) else {
            continue;
        };
        let tag = child.value().name();
        if SKIP.contains(&tag) {
            continue;
        }
        match tag {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = tag[1..].parse::<usize>().unwrap_or(1);
                let text: String = child.text().collect();
                out.push_str(&format!(
                    "\n{} {}\n",
                    "#".repeat(level),
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
            "p" | "div" | "section" | "article" | "blockquote" | "tr" | "table" | "ul" | "ol"
            | "form" => {
                out.push('\n');
                walk(child, base, out, links);
                out.push('\n');
            }
            "li" => {
                out.push_str("\n- ");
                walk(child, base, out, links);
            }
            "br" => out.push('\n'),
            "td" | "th" => {
                out.push_str(" | ");
                walk(child, base, out, links);
            }
            "a" => {
                let text: String = child
                    .text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let href = child.value().attr("href").and_then(|h| {
                    base.and_then(|b| b.join(h).ok())
                        .map(|u| u.to_string())
                        .or_else(|| Some(h.to_owned()))
                });
                match href {
                    Some(href) if !text.is_empty() => {
                        out.push_str(&format!("[{text}]({href})"));
                        links.push((text, href));
                    }
                    _ => out.push_str(&text),
                }
            }
            _ => walk(child, base, out, links),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_as_lines_and_links_without_scripts_or_navigation() {
        let page = read(
            r#"<html><head><title> A  page </title><script>var x = 1;</script></head><body>
            <nav><a href="/menu">Menu</a></nav><main><h1>Hello</h1><p>Read <a href="/more">more</a>.</p>
            <ul><li>one</li><li>two</li></ul></main></body></html>"#,
            "https://site.example/dir/",
            "https://site.example/dir/",
        );
        assert_eq!(page.title, "A page");
        assert_eq!(
            page.lines,
            [
                "# Hello",
                "Read [more](https://site.example/more).",
                "- one",
                "- two"
            ]
        );
        assert_eq!(
            page.links,
            [("more".to_owned(), "https://site.example/more".to_owned())]
        );
    }
}
