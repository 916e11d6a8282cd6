//! `get_data_source_desc` and `get_data_source`: described data APIs the model calls with
//! checked parameters. `yahoo_finance` offers quotes, price history (chart) and symbol search,
//! from `data_sources.yahoo_finance_url`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Tool, ToolError};

mod describe;
mod fetch;
mod yahoo;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(describe::Describe), Arc::new(fetch::Fetch)]
}

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

#[cfg(test)]
mod tests {
    use serde_json::json;

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
}
