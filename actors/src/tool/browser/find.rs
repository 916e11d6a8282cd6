//! `browser_find`: where a keyword occurs on a page, a few matches at a time.

use serde::Deserialize;
use serde_json::json;

use super::{context, failed, fetched_page, select, target_url};
use crate::net::browser::evaluate;
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

/// Matches `browser_find` returns at once.
const FIND_LIMIT: usize = 10;

pub(super) struct Find;

#[derive(Deserialize)]
pub(super) struct Args {
    keyword: String,
    citation_id: Option<i64>,
    #[serde(default)]
    skip: Option<i64>,
    url: Option<String>,
}

impl TypedTool for Find {
    const NAME: &'static str = "browser_find";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        if args.keyword.trim().is_empty() {
            return Err(ToolError::InvalidArguments(
                "keyword must not be empty".into(),
            ));
        }
        let skip = args.skip.unwrap_or(0).max(0);
        if !ctx.web.browsers.available().await {
            let key = target_url(ctx, args.citation_id, args.url.as_deref()).ok();
            let page = fetched_page(ctx, key)?;
            let needle = args.keyword.to_lowercase();
            let hits: Vec<&String> = page
                .lines
                .iter()
                .filter(|l| l.to_lowercase().contains(&needle))
                .collect();
            let mut text = format!(
                "{} lines with {:?} on {}\n",
                hits.len(),
                args.keyword,
                page.url
            );
            for (i, line) in hits.iter().enumerate().skip(skip as usize).take(FIND_LIMIT) {
                text.push_str(&format!("{}. {line}\n", i + 1));
            }
            return Ok(ToolOutput::text(text));
        }
        let context = context(ctx).await?;
        let index = select(&context, ctx, args.citation_id, args.url.as_deref())?;
        let page = &context.pages[index];
        let keyword = serde_json::to_string(&args.keyword).unwrap_or_default();
        let found = evaluate(
            &context.cdp,
            &page.session,
            &format!("window.__okcvm.find({keyword}, {skip}, {FIND_LIMIT})"),
        )
        .await
        .map_err(failed)?;
        let total = found["total"].as_u64().unwrap_or(0);
        let matches = found["matches"].as_array().cloned().unwrap_or_default();
        let mut text = format!("{total} matches of {:?} on {}", args.keyword, page.key);
        if total > 0 {
            text.push_str(&format!(
                " (showing {} from match {})",
                matches.len(),
                skip + 1
            ));
        }
        text.push('\n');
        for (i, m) in matches.iter().enumerate() {
            text.push_str(&format!(
                "{}. …{}…\n",
                skip as usize + i + 1,
                m.as_str().unwrap_or_default()
            ));
        }
        if (skip as u64) + (matches.len() as u64) < total {
            text.push_str(&format!(
                "Use skip={} for the next matches.",
                skip as usize + matches.len()
            ));
        }
        Ok(ToolOutput {
            text,
            images: Vec::new(),
            data: Some(json!({"total": total, "matches": matches})),
        })
    }
}
