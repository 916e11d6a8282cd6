//! `web_search` and `image_search` through the configured provider: SearXNG (its JSON API),
//! Brave Search or Tavily. Queries run concurrently; each result is numbered with a citation
//! id that stays the same for the same URL in the session (the browser tools take it).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};
use crate::config::{SearchProvider, SearchSettings};
use crate::net::NetGuard;

/// Results asked for per web query.
const WEB_RESULTS: usize = 10;
/// Most images an image search returns, whatever `total_count` says.
const MAX_IMAGES: usize = 50;
/// Most queries in one call.
const MAX_QUERIES: usize = 10;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(WebSearch), Arc::new(ImageSearch)]
}

struct WebSearch;
struct ImageSearch;

#[derive(Deserialize)]
struct Args {
    queries: Vec<String>,
    #[serde(default)]
    total_count: Option<i64>,
}

/// One result as the providers give it.
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    title: String,
    url: String,
    snippet: String,
    /// For images: the image's own address (`url` is the page showing it).
    image: Option<String>,
}

fn settings(ctx: &ToolContext, tool: &str) -> Result<SearchSettings, ToolError> {
    ctx.settings.search.clone().ok_or_else(|| {
        ToolError::Unavailable(format!(
            "{tool} needs a search provider, and none is configured: set search.provider \
             (searxng, brave or tavily) with search.base_url for SearXNG or search.api_key for \
             Brave and Tavily"
        ))
    })
}

fn queries(args: &Args) -> Result<Vec<String>, ToolError> {
    let queries: Vec<String> = args
        .queries
        .iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
    if queries.is_empty() {
        return Err(ToolError::InvalidArguments(
            "queries must hold at least one non-empty query".into(),
        ));
    }
    if queries.len() > MAX_QUERIES {
        return Err(ToolError::InvalidArguments(format!(
            "at most {MAX_QUERIES} queries per call, got {}",
            queries.len()
        )));
    }
    Ok(queries)
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Asks the provider for one query's results.
async fn search(
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

/// Runs every query at once; each answer or its error, in query order.
async fn run_all(
    ctx: &ToolContext,
    search: &SearchSettings,
    queries: &[String],
    images: bool,
    count: usize,
) -> Vec<Result<Vec<Hit>, String>> {
    let guard = &ctx.web.guard;
    futures::future::join_all(
        queries
            .iter()
            .map(|q| search_or_cancel(ctx, guard, search, q, images, count)),
    )
    .await
}

async fn search_or_cancel(
    ctx: &ToolContext,
    guard: &NetGuard,
    search: &SearchSettings,
    query: &str,
    images: bool,
    count: usize,
) -> Result<Vec<Hit>, String> {
    tokio::select! {
        result = self::search(guard, search, query, images, count) => result,
        () = ctx.cancel.cancelled() => Err("cancelled".into()),
    }
}

impl Tool for WebSearch {
    fn name(&self) -> &'static str {
        "web_search"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let search = settings(ctx, "web_search")?;
            let args: Args = parse_args(args)?;
            let queries = queries(&args)?;
            let answers = run_all(ctx, &search, &queries, false, WEB_RESULTS).await;
            if ctx.cancel.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            if answers.iter().all(Result::is_err) {
                let first = answers.iter().find_map(|a| a.as_ref().err()).cloned();
                return Err(ToolError::Failed(format!(
                    "the search failed: {}",
                    first.unwrap_or_default()
                )));
            }
            let mut text = String::new();
            let mut data = Vec::new();
            for (query, answer) in queries.iter().zip(answers) {
                text.push_str(&format!("## Results for \"{query}\"\n"));
                match answer {
                    Err(e) => {
                        text.push_str(&format!("The search failed: {e}\n\n"));
                        data.push(json!({"query": query, "error": e}));
                    }
                    Ok(hits) if hits.is_empty() => {
                        text.push_str("No results.\n\n");
                        data.push(json!({"query": query, "results": []}));
                    }
                    Ok(hits) => {
                        let mut results = Vec::new();
                        for hit in hits {
                            let id = ctx.web.cite(&ctx.session, &hit.url);
                            text.push_str(&format!(
                                "[{id}] {}\nURL: {}\n{}\n\n",
                                if hit.title.is_empty() {
                                    &hit.url
                                } else {
                                    &hit.title
                                },
                                hit.url,
                                hit.snippet
                            ));
                            results.push(json!({
                                "citation_id": id,
                                "title": hit.title,
                                "url": hit.url,
                                "snippet": hit.snippet,
                            }));
                        }
                        data.push(json!({"query": query, "results": results}));
                    }
                }
            }
            text.push_str("Open a result with browser_visit, by its URL or its citation id.");
            Ok(ToolOutput {
                text,
                images: Vec::new(),
                data: Some(json!({"searches": data})),
            })
        })
    }
}

impl Tool for ImageSearch {
    fn name(&self) -> &'static str {
        "image_search"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let search = settings(ctx, "image_search")?;
            let args: Args = parse_args(args)?;
            let queries = queries(&args)?;
            let total = match args.total_count {
                None => 10,
                Some(n) if n >= 1 => (n as usize).min(MAX_IMAGES),
                Some(n) => {
                    return Err(ToolError::InvalidArguments(format!(
                        "total_count must be at least 1, got {n}"
                    )))
                }
            };
            // The images are shared out between the queries, the first ones taking the rest.
            let per_query = total.div_ceil(queries.len());
            let answers = run_all(ctx, &search, &queries, true, per_query).await;
            if ctx.cancel.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            let mut images: Vec<Hit> = Vec::new();
            let mut errors = Vec::new();
            for (query, answer) in queries.iter().zip(answers) {
                match answer {
                    Ok(hits) => images.extend(hits),
                    Err(e) => errors.push(format!("\"{query}\": {e}")),
                }
            }
            if images.is_empty() && !errors.is_empty() {
                return Err(ToolError::Failed(format!(
                    "the image search failed: {}",
                    errors.join("; ")
                )));
            }
            images.dedup_by(|a, b| a.image == b.image);
            images.truncate(total);
            let mut text = format!("# Found {} images\n", images.len());
            let mut data = Vec::new();
            for (i, hit) in images.iter().enumerate() {
                let image = hit.image.clone().unwrap_or_default();
                let id = ctx.web.cite(&ctx.session, &hit.url);
                text.push_str(&format!("- Image {} ({image})", i + 1));
                if !hit.title.is_empty() {
                    text.push_str(&format!(" {}", hit.title));
                }
                if hit.url != image {
                    text.push_str(&format!(" [{id}] from {}", hit.url));
                }
                text.push('\n');
                data.push(json!({"image_url": image, "title": hit.title, "page_url": hit.url, "citation_id": id}));
            }
            for error in errors {
                text.push_str(&format!("The search for {error} failed.\n"));
            }
            Ok(ToolOutput {
                text,
                images: Vec::new(),
                data: Some(json!({"images": data})),
            })
        })
    }
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
