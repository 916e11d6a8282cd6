//! `get_data_source_desc` and `get_data_source`: described data APIs the model calls with
//! checked parameters. `yahoo_finance` offers quotes, price history (chart) and symbol search,
//! from `data_sources.yahoo_finance_url`.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Describe), Arc::new(Fetch)]
}

struct Describe;
struct Fetch;

/// One parameter of an API.
struct Param {
    name: &'static str,
    kind: Kind,
    required: bool,
    description: &'static str,
}

enum Kind {
    Text,
    OneOf(&'static [&'static str]),
    Integer(i64, i64),
}

struct Api {
    name: &'static str,
    description: &'static str,
    params: &'static [Param],
}

const RANGES: &[&str] = &[
    "1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max",
];
const INTERVALS: &[&str] = &[
    "1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo",
];

const YAHOO: &[Api] = &[
    Api {
        name: "quote",
        description: "Current quotes: price, change, day range, volume, market cap, currency and exchange of one or more symbols.",
        params: &[Param {
            name: "symbols",
            kind: Kind::Text,
            required: true,
            description: "Comma-separated symbols, e.g. \"AAPL,MSFT\" or \"^GSPC,BTC-USD,EURUSD=X\".",
        }],
    },
    Api {
        name: "chart",
        description: "Price history of one symbol: open, high, low, close and volume per interval.",
        params: &[
            Param {
                name: "symbol",
                kind: Kind::Text,
                required: true,
                description: "One symbol, e.g. \"AAPL\".",
            },
            Param {
                name: "range",
                kind: Kind::OneOf(RANGES),
                required: false,
                description: "How far back (default \"1mo\").",
            },
            Param {
                name: "interval",
                kind: Kind::OneOf(INTERVALS),
                required: false,
                description: "Bar size (default \"1d\"); minute bars only for recent ranges.",
            },
        ],
    },
    Api {
        name: "search",
        description: "Finds symbols by company or fund name.",
        params: &[
            Param {
                name: "query",
                kind: Kind::Text,
                required: true,
                description: "A name or part of one, e.g. \"nvidia\".",
            },
            Param {
                name: "quotes_count",
                kind: Kind::Integer(1, 20),
                required: false,
                description: "How many matches (1 to 20, default 6).",
            },
        ],
    },
];

fn apis(source: &str) -> Result<&'static [Api], ToolError> {
    match source {
        "yahoo_finance" => Ok(YAHOO),
        other => Err(ToolError::InvalidArguments(format!(
            "unknown data source {other:?}: the sources are yahoo_finance"
        ))),
    }
}

fn describe(source: &str, apis: &[Api]) -> String {
    let mut text = format!("# Data source `{source}`\n\nCall get_data_source with data_source_name \"{source}\", an api_name and params.\n");
    for api in apis {
        text.push_str(&format!(
            "\n## `{}`\n{}\n\nParameters:\n",
            api.name, api.description
        ));
        for p in api.params {
            let kind = match &p.kind {
                Kind::Text => "string".to_owned(),
                Kind::OneOf(values) => format!("one of {}", values.join(", ")),
                Kind::Integer(min, max) => format!("integer {min} to {max}"),
            };
            text.push_str(&format!(
                "- `{}` ({kind}{}): {}\n",
                p.name,
                if p.required { ", required" } else { "" },
                p.description
            ));
        }
    }
    text
}

/// The params, checked against the API's description; values as strings for the query.
fn check(api: &Api, params: &Map<String, Value>) -> Result<Vec<(&'static str, String)>, ToolError> {
    let bad = |m: String| ToolError::InvalidArguments(m);
    if let Some(unknown) = params
        .keys()
        .find(|k| !api.params.iter().any(|p| p.name == *k))
    {
        let names: Vec<&str> = api.params.iter().map(|p| p.name).collect();
        return Err(bad(format!(
            "{} has no parameter {unknown:?}; its parameters are {}",
            api.name,
            names.join(", ")
        )));
    }
    let mut out = Vec::new();
    for p in api.params {
        let Some(value) = params.get(p.name).filter(|v| !v.is_null()) else {
            if p.required {
                return Err(bad(format!(
                    "{} needs the parameter {:?}",
                    api.name, p.name
                )));
            }
            continue;
        };
        let text = match (&p.kind, value) {
            (Kind::Text, Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            (Kind::OneOf(values), Value::String(s)) if values.contains(&s.as_str()) => s.clone(),
            (Kind::OneOf(values), _) => {
                return Err(bad(format!(
                    "{} must be one of {}, got {value}",
                    p.name,
                    values.join(", ")
                )))
            }
            (Kind::Integer(min, max), v) => match v.as_i64() {
                Some(n) if (*min..=*max).contains(&n) => n.to_string(),
                _ => {
                    return Err(bad(format!(
                        "{} must be an integer from {min} to {max}, got {value}",
                        p.name
                    )))
                }
            },
            (Kind::Text, _) => {
                return Err(bad(format!(
                    "{} must be a non-empty string, got {value}",
                    p.name
                )))
            }
        };
        out.push((p.name, text));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct DescribeArgs {
    data_source_name: String,
}

#[derive(Deserialize)]
struct FetchArgs {
    data_source_name: String,
    api_name: String,
    #[serde(default)]
    params: Map<String, Value>,
}

impl Tool for Describe {
    fn name(&self) -> &'static str {
        "get_data_source_desc"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        _ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: DescribeArgs = parse_args(args)?;
            let apis = apis(&args.data_source_name)?;
            Ok(ToolOutput::text(describe(&args.data_source_name, apis)))
        })
    }
}

impl Tool for Fetch {
    fn name(&self) -> &'static str {
        "get_data_source"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: FetchArgs = parse_args(args)?;
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
                "quote" => quotes(&body),
                "chart" => chart(&body),
                _ => symbols(&body),
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
                data: Some(
                    json!({"data_source": "yahoo_finance", "api": api.name, "result": result}),
                ),
            })
        })
    }
}

/// The provider's error object, when it sent one.
fn provider_error(body: &Value, root: &str) -> Option<String> {
    let error = body
        .pointer(&format!("/{root}/error"))
        .filter(|e| !e.is_null())?;
    Some(
        error
            .get("description")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_owned),
    )
}

const QUOTE_FIELDS: &[&str] = &[
    "symbol",
    "shortName",
    "longName",
    "currency",
    "fullExchangeName",
    "marketState",
    "regularMarketPrice",
    "regularMarketChange",
    "regularMarketChangePercent",
    "regularMarketPreviousClose",
    "regularMarketOpen",
    "regularMarketDayLow",
    "regularMarketDayHigh",
    "regularMarketVolume",
    "regularMarketTime",
    "marketCap",
    "fiftyTwoWeekLow",
    "fiftyTwoWeekHigh",
    "trailingPE",
];

fn quotes(body: &Value) -> Result<Value, String> {
    if let Some(e) = provider_error(body, "quoteResponse") {
        return Err(format!("yahoo_finance quote: {e}"));
    }
    let results = body
        .pointer("/quoteResponse/result")
        .and_then(Value::as_array)
        .ok_or("yahoo_finance quote: the answer has no quoteResponse.result")?;
    if results.is_empty() {
        return Err(
            "yahoo_finance quote: no quote for those symbols (check them with the search API)"
                .into(),
        );
    }
    Ok(Value::Array(
        results
            .iter()
            .map(|q| {
                let mut out = Map::new();
                for field in QUOTE_FIELDS {
                    if let Some(v) = q.get(*field).filter(|v| !v.is_null()) {
                        out.insert((*field).to_owned(), v.clone());
                    }
                }
                Value::Object(out)
            })
            .collect(),
    ))
}

fn chart(body: &Value) -> Result<Value, String> {
    if let Some(e) = provider_error(body, "chart") {
        return Err(format!("yahoo_finance chart: {e}"));
    }
    let result = body
        .pointer("/chart/result/0")
        .ok_or("yahoo_finance chart: the answer has no chart.result")?;
    let meta = result.get("meta").cloned().unwrap_or(Value::Null);
    let times = result
        .get("timestamp")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let quote = result
        .pointer("/indicators/quote/0")
        .cloned()
        .unwrap_or(Value::Null);
    let series = |name: &str| {
        quote
            .get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (open, high, low, close, volume) = (
        series("open"),
        series("high"),
        series("low"),
        series("close"),
        series("volume"),
    );
    let rows: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let date = t
                .as_i64()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|d| d.format("%Y-%m-%dT%H:%MZ").to_string());
            json!({
                "time": date,
                "open": open.get(i),
                "high": high.get(i),
                "low": low.get(i),
                "close": close.get(i),
                "volume": volume.get(i),
            })
        })
        .collect();
    let pick = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "symbol": pick("symbol"),
        "currency": pick("currency"),
        "exchange": pick("exchangeName"),
        "regular_market_price": pick("regularMarketPrice"),
        "bars": rows,
    }))
}

fn symbols(body: &Value) -> Result<Value, String> {
    let quotes = body
        .get("quotes")
        .and_then(Value::as_array)
        .ok_or("yahoo_finance search: the answer has no quotes")?;
    Ok(Value::Array(
        quotes
            .iter()
            .map(|q| {
                let pick = |k: &str| q.get(k).cloned().unwrap_or(Value::Null);
                json!({
                    "symbol": pick("symbol"),
                    "name": q.get("longname").or_else(|| q.get("shortname")).cloned().unwrap_or(Value::Null),
                    "type": pick("quoteType"),
                    "exchange": pick("exchDisp"),
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked_against_the_description() {
        let chart = &YAHOO[1];
        let params = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            check(chart, &params(json!({"symbol": "AAPL", "range": "1y"}))).unwrap(),
            vec![("symbol", "AAPL".to_owned()), ("range", "1y".to_owned())]
        );
        let error = |v: Value| check(chart, &params(v)).unwrap_err().to_string();
        assert!(error(json!({})).contains("needs the parameter \"symbol\""));
        assert!(error(json!({"symbol": "A", "range": "2w"})).contains("one of 1d"));
        assert!(error(json!({"symbol": "A", "period": "1y"})).contains("no parameter \"period\""));
        assert!(error(json!({"symbol": 5})).contains("non-empty string"));
        let search = &YAHOO[2];
        assert!(
            check(search, &params(json!({"query": "x", "quotes_count": 50})))
                .unwrap_err()
                .to_string()
                .contains("1 to 20")
        );
    }

    #[test]
    fn chart_bars_have_dates_and_prices() {
        let body = json!({"chart": {"result": [{"meta": {"symbol": "AAPL", "currency": "USD"},
            "timestamp": [1700000000, 1700086400],
            "indicators": {"quote": [{"open": [1.0, 2.0], "high": [1.5, 2.5], "low": [0.5, 1.5], "close": [1.2, 2.2], "volume": [100, 200]}]}}], "error": null}});
        let result = chart(&body).unwrap();
        assert_eq!(result["symbol"], "AAPL");
        assert_eq!(result["bars"][1]["close"], 2.2);
        assert_eq!(result["bars"][0]["time"], "2023-11-14T22:13Z");
        let failed = json!({"chart": {"result": null, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}});
        assert!(chart(&failed).unwrap_err().contains("delisted"));
    }
}
