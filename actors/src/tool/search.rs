//! `web_search` and `image_search` through the configured provider: SearXNG (its JSON API),
//! Brave Search or Tavily. Queries run concurrently; each result is numbered with a citation
//! id that stays the same for the same URL in the session (the browser tools take it).

use std::sync::Arc;

use serde::Deserialize;

use super::{Tool, ToolContext, ToolError};
use crate::config::SearchSettings;
use crate::net::NetGuard;

mod image;
mod provider;
mod web;

/// Results asked for per web query.
const WEB_RESULTS: usize = 10;
/// Most images an image search returns, whatever `total_count` says.
const MAX_IMAGES: usize = 50;
/// Most queries in one call.
const MAX_QUERIES: usize = 10;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(web::WebSearch), Arc::new(image::ImageSearch)]
}

#[derive(Deserialize)]
pub(super) struct Args {
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
        result = provider::search(guard, search, query, images, count) => result,
        () = ctx.cancel.cancelled() => Err("cancelled".into()),
    }
}
