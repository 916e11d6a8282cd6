//! `edit_file`: exact string replacement in a file the model has read.

use std::io::{Read, Seek, SeekFrom, Write};

use serde::Deserialize;
use serde_json::json;

use crate::tool::file_io::{blocking, io_failure, path_error};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};

#[derive(Debug, Deserialize)]
pub(super) struct Args {
    file_path: String,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

pub(super) struct EditFile;

impl TypedTool for EditFile {
    const NAME: &'static str = "edit_file";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let ctx = ctx.clone();
        blocking(move || edit(&ctx, &args)).await
    }
}

fn edit(ctx: &ToolContext, args: &Args) -> Result<ToolOutput, ToolError> {
    if args.old_string.is_empty() {
        return Err(ToolError::InvalidArguments(
            "old_string is empty: give the exact text to replace, copied from read_file's output \
             without the line-number prefix (to create a file, use write_file)"
                .into(),
        ));
    }
    if args.old_string == args.new_string {
        return Err(ToolError::InvalidArguments(
            "old_string and new_string are identical, so the edit would change nothing: put the \
             replacement text in new_string"
                .into(),
        ));
    }

    let ws = &ctx.workspace;
    let opened = ws.open_existing_rw(&args.file_path).map_err(path_error)?;
    let (mut file, shown) = (opened.file, opened.shown);
    if !ctx.resources.was_read(&opened.relative) {
        return Err(ToolError::Failed(format!(
            "{shown} has not been read in this session: read it with read_file first, then edit \
             it"
        )));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| io_failure("read", &shown, &e))?;
    let Ok(content) = String::from_utf8(bytes) else {
        return Err(ToolError::Failed(format!(
            "{shown} is not UTF-8 text, so edit_file can't change it: use the shell tool instead"
        )));
    };

    let count = content.matches(args.old_string.as_str()).count();
    if count == 0 {
        return Err(ToolError::Failed(format!(
            "old_string was not found in {shown}. It must match the file exactly, including \
             whitespace and indentation, and must not include read_file's line-number prefix. \
             Read the file again and copy the text to replace"
        )));
    }
    if count > 1 && !args.replace_all {
        return Err(ToolError::Failed(format!(
            "old_string occurs {count} times in {shown}, so the edit is ambiguous. Include more \
             of the surrounding lines in old_string to make it unique, or set replace_all to \
             true to replace every occurrence"
        )));
    }
    let edited = if args.replace_all {
        content.replace(&args.old_string, &args.new_string)
    } else {
        content.replacen(&args.old_string, &args.new_string, 1)
    };

    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.set_len(0))
        .and_then(|()| file.write_all(edited.as_bytes()))
        .map_err(|e| io_failure("write", &shown, &e))?;

    let replaced = if args.replace_all { count } else { 1 };
    let plural = if replaced == 1 { "" } else { "s" };
    Ok(ToolOutput {
        text: format!("Edited {shown}: replaced {replaced} occurrence{plural}."),
        images: Vec::new(),
        data: Some(json!({ "path": shown, "replacements": replaced })),
    })
}

#[cfg(test)]
mod tests;
