//! `get_data_source_desc`: what a data source offers and how to call it.

use serde::Deserialize;

use super::{apis, describe};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct Describe;

#[derive(Deserialize)]
pub(super) struct Args {
    data_source_name: String,
}

impl TypedTool for Describe {
    const NAME: &'static str = "get_data_source_desc";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, _ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let apis = apis(&args.data_source_name)?;
        Ok(ToolOutput::text(describe(&args.data_source_name, apis)))
    }
}
