//! `write_file`: create, overwrite or append to a file.

use std::io::{Seek, SeekFrom, Write};

use serde::Deserialize;
use serde_json::json;

use crate::tool::file_io::{blocking, io_failure, path_error};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};

#[derive(Debug, Deserialize)]
pub(super) struct Args {
    file_path: String,
    content: String,
    #[serde(default)]
    append: bool,
}

pub(super) struct WriteFile;

impl TypedTool for WriteFile {
    const NAME: &'static str = "write_file";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let ctx = ctx.clone();
        blocking(move || write(&ctx, &args)).await
    }
}

fn write(ctx: &ToolContext, args: &Args) -> Result<ToolOutput, ToolError> {
    let ws = &ctx.workspace;
    // Opened without truncating: what was opened is checked before anything in it changes.
    let opened = ws.open_for_write(&args.file_path).map_err(path_error)?;
    let (mut file, shown) = (opened.file, opened.shown);
    // The manifest promises the model this: an existing file is only replaced or extended once
    // it has been read, so nothing is overwritten unseen.
    if !opened.created && !ctx.resources.was_read(&opened.relative) {
        return Err(ToolError::Failed(format!(
            "{shown} already exists and has not been read in this session. Read it with \
             read_file first, then write it again (or write to a new path)"
        )));
    }
    let positioned = if args.append {
        file.seek(SeekFrom::End(0)).map(drop)
    } else {
        file.set_len(0)
    };
    positioned.map_err(|e| io_failure("open", &shown, &e))?;
    file.write_all(args.content.as_bytes())
        .map_err(|e| io_failure("write", &shown, &e))?;
    let size = file
        .metadata()
        .map_err(|e| io_failure("inspect", &shown, &e))?
        .len();
    ctx.resources.mark_read(opened.relative);

    let written = args.content.len();
    let text = if args.append {
        format!("Appended {written} bytes to {shown} (now {size} bytes).")
    } else {
        format!("Wrote {written} bytes to {shown}.")
    };
    Ok(ToolOutput {
        text,
        images: Vec::new(),
        data: Some(json!({
            "path": shown,
            "bytes_written": written,
            "size": size,
            "append": args.append,
        })),
    })
}

#[cfg(test)]
mod tests;
