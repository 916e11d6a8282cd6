//! `get_data_source`: one call of a described API, its parameters checked first.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{apis, check, yahoo};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};

pub(super) struct Fetch;

#[derive(Deserialize)]
pub(super) struct Args {
    data_source_name: String,
    api_name: String,
    #[serde(default)]
    params: Map<String, Value>,
}

impl TypedTool for Fetch {
    const NAME: &'static str = "get_data_source";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let apis = apis(&args.data_source_name)?;
        let api = apis
            .iter()
            .find(|a| a.name == args.api_name)
            .ok_or_else(|| {
                let names: Vec<&str> = apis.iter().map(|a| a.name).collect();
                ToolError::InvalidArguments(format!(
                    "{} has no API {:?}; its APIs are {} (see get_data_source_desc)",
                    args.data_source_name,
                    args.api_name,
                    names.join(", ")
                ))
            })?;
        let params = check(api, &args.params)?;
        let value = |name: &str| {
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        let base = ctx
            .settings
            .data_sources
            .yahoo_finance_url
            .trim_end_matches('/')
            .to_owned();
        let (url, query): (String, Vec<(&str, String)>) = match api.name {
            "quote" => (
                format!("{base}/v7/finance/quote"),
                vec![("symbols", value("symbols").unwrap_or_default())],
            ),
            "chart" => {
                let symbol = value("symbol").unwrap_or_default();
                let encoded: String =
                    url::form_urlencoded::byte_serialize(symbol.as_bytes()).collect();
                (
                    format!("{base}/v8/finance/chart/{encoded}"),
                    vec![
                        ("range", value("range").unwrap_or_else(|| "1mo".into())),
                        ("interval", value("interval").unwrap_or_else(|| "1d".into())),
                    ],
                )
            }
            _ => (
                format!("{base}/v1/finance/search"),
                vec![
                    ("q", value("query").unwrap_or_default()),
                    (
                        "quotesCount",
                        value("quotes_count").unwrap_or_else(|| "6".into()),
                    ),
                    ("newsCount", "0".into()),
                ],
            ),
        };
        let guard = &ctx.web.guard;
        let request = guard
            .request(reqwest::Method::GET, &url)
            .map_err(|e| ToolError::Failed(e.to_string()))?
            .query(&query);
        let response = guard
            .send(request)
            .await
            .map_err(|e| ToolError::Failed(format!("yahoo_finance: {e}")))?;
        if !response.status.is_success() {
            let body: String = response.text().chars().take(300).collect();
            return Err(ToolError::Failed(format!(
                "yahoo_finance {} answered {}: {body}",
                api.name, response.status
            )));
        }
        let body = response
            .json()
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let result = match api.name {
            "quote" => yahoo::quotes(&body),
            "chart" => yahoo::chart(&body),
            _ => yahoo::symbols(&body),
        }
        .map_err(ToolError::Failed)?;
        let text = format!(
            "yahoo_finance {} ({}):\n{}",
            api.name,
            params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
        Ok(ToolOutput {
            text,
            images: Vec::new(),
            data: Some(json!({"data_source": "yahoo_finance", "api": api.name, "result": result})),
        })
    }
}
