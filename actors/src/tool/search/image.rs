//! `image_search`: images shared out between the queries, their pages numbered as the
//! session's citations.

use serde_json::json;

use super::{queries, run_all, settings, Args, Hit, MAX_IMAGES};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct ImageSearch;

impl TypedTool for ImageSearch {
    const NAME: &'static str = "image_search";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let search = settings(ctx, "image_search")?;
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
            let id = ctx.resources.cite(&hit.url);
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
    }
}
