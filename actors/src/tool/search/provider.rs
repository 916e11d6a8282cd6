//! Asking a search provider (SearXNG's JSON API, Brave Search, Tavily) for one query's
//! results, and reading each provider's answer into hits.

use serde_json::{json, Value};

use super::Hit;
use crate::config::{SearchProvider, SearchSettings};
use crate::net::NetGuard;

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Asks the provider for one query's results.
pub(super) async fn search(
    guard: &NetGuard,
    search: &SearchSettings,
    query: &str,
    images: bool,
    count: usize,
) -> Result<Vec<Hit>, String> {
    let base = search.url().ok_or("search.base_url is not set")?;
    let key = search.api_key.clone().unwrap_or_default();
    let need_key = |name: &str| -> Result<(), String> {
        if key.is_empty() {
            Err(format!(
                "{name} needs an API key: set search.api_key or search.api_key_env"
            ))
        } else {
            Ok(())
        }
    };
    let request = match search.provider {
        SearchProvider::Searxng => {
            let mut request = guard
                .request(reqwest::Method::GET, &format!("{base}/search"))
                .map_err(|e| e.to_string())?
                .query(&[("q", query), ("format", "json")]);
            if images {
                request = request.query(&[("categories", "images")]);
            }
            request
        }
        SearchProvider::Brave => {
            need_key("Brave Search")?;
            let path = if images {
                "images/search"
            } else {
                "web/search"
            };
            guard
                .request(reqwest::Method::GET, &format!("{base}/{path}"))
                .map_err(|e| e.to_string())?
                .query(&[("q", query), ("count", &count.min(20).to_string())])
                .header("X-Subscription-Token", key.as_str())
                .header("Accept", "application/json")
        }
        SearchProvider::Tavily => {
            need_key("Tavily")?;
            guard
                .request(reqwest::Method::POST, &format!("{base}/search"))
                .map_err(|e| e.to_string())?
                .bearer_auth(&key)
                .json(&json!({
                    "query": query,
                    "max_results": count.min(20),
                    "include_images": images,
                    "include_image_descriptions": images,
                }))
        }
    };
    let response = guard.send(request).await.map_err(|e| e.to_string())?;
    if !response.status.is_success() {
        let body: String = response.text().chars().take(300).collect();
        return Err(format!(
            "the search provider answered {}: {body}",
            response.status
        ));
    }
    let body = response.json().map_err(|e| e.to_string())?;
    let mut hits = parse(search.provider, &body, images);
    hits.truncate(count);
    Ok(hits)
}

/// Results from a provider's JSON.
fn parse(provider: SearchProvider, body: &Value, images: bool) -> Vec<Hit> {
    let list = |value: Option<&Value>| value.and_then(Value::as_array).cloned().unwrap_or_default();
    let hits: Vec<Hit> = match (provider, images) {
        // SearXNG and Tavily both answer `results` of title, url and content.
        (SearchProvider::Searxng | SearchProvider::Tavily, false) => list(body.get("results"))
            .iter()
            .map(|r| Hit {
                title: text(r, "title"),
                url: text(r, "url"),
                snippet: text(r, "content"),
                image: None,
            })
            .collect(),
        (SearchProvider::Searxng, true) => list(body.get("results"))
            .iter()
            .filter_map(|r| {
                let image = Some(text(r, "img_src")).filter(|s| !s.is_empty())?;
                Some(Hit {
                    title: text(r, "title"),
                    url: text(r, "url"),
                    snippet: text(r, "content"),
                    image: Some(image),
                })
            })
            .collect(),
        (SearchProvider::Brave, false) => list(body.pointer("/web/results"))
            .iter()
            .map(|r| Hit {
                title: text(r, "title"),
                url: text(r, "url"),
                snippet: text(r, "description"),
                image: None,
            })
            .collect(),
        (SearchProvider::Brave, true) => list(body.get("results"))
            .iter()
            .filter_map(|r| {
                let image = r
                    .pointer("/properties/url")
                    .and_then(Value::as_str)
                    .map(str::to_owned)?;
                Some(Hit {
                    title: text(r, "title"),
                    url: text(r, "url"),
                    snippet: String::new(),
                    image: Some(image),
                })
            })
            .collect(),
        (SearchProvider::Tavily, true) => list(body.get("images"))
            .iter()
            .filter_map(|image| {
                let (url, description) = match image {
                    Value::String(url) => (url.clone(), String::new()),
                    other => (text(other, "url"), text(other, "description")),
                };
                (!url.is_empty()).then(|| Hit {
                    title: description.clone(),
                    url: url.clone(),
                    snippet: description,
                    image: Some(url),
                })
            })
            .collect(),
    };
    hits.into_iter().filter(|hit| !hit.url.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_format_is_read() {
        let searx =
            json!({"results": [{"title": "A", "url": "https://a.example/", "content": "about a"}]});
        assert_eq!(
            parse(SearchProvider::Searxng, &searx, false),
            vec![Hit {
                title: "A".into(),
                url: "https://a.example/".into(),
                snippet: "about a".into(),
                image: None
            }]
        );
        let brave = json!({"web": {"results": [{"title": "B", "url": "https://b.example/", "description": "about b"}]}});
        assert_eq!(
            parse(SearchProvider::Brave, &brave, false)[0].snippet,
            "about b"
        );
        let brave_images = json!({"results": [{"title": "cat", "url": "https://page.example/", "properties": {"url": "https://img.example/cat.jpg"}}]});
        assert_eq!(
            parse(SearchProvider::Brave, &brave_images, true)[0]
                .image
                .as_deref(),
            Some("https://img.example/cat.jpg")
        );
        let tavily = json!({"results": [{"title": "T", "url": "https://t.example/", "content": "about t"}],
                            "images": ["https://img.example/1.png", {"url": "https://img.example/2.png", "description": "two"}]});
        assert_eq!(parse(SearchProvider::Tavily, &tavily, false).len(), 1);
        let images = parse(SearchProvider::Tavily, &tavily, true);
        assert_eq!(images.len(), 2);
        assert_eq!(images[1].title, "two");
        let searx_images = json!({"results": [{"title": "x", "url": "https://p/", "img_src": "https://i/x.png"}, {"title": "no image", "url": "https://q/"}]});
        assert_eq!(parse(SearchProvider::Searxng, &searx_images, true).len(), 1);
    }
}
