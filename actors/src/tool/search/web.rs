//! `web_search`: each query's results, numbered as the session's citations.

use serde_json::json;

use super::{queries, run_all, settings, Args, WEB_RESULTS};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct WebSearch;

impl TypedTool for WebSearch {
    const NAME: &'static str = "web_search";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let search = settings(ctx, "web_search")?;
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
                        let id = ctx.resources.cite(&hit.url);
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
    }
}
