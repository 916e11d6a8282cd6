//! Yahoo Finance's answers read into what the model gets: quotes, price bars and symbols.

use serde_json::{json, Map, Value};

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

pub(super) fn quotes(body: &Value) -> Result<Value, String> {
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

pub(super) fn chart(body: &Value) -> Result<Value, String> {
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

pub(super) fn symbols(body: &Value) -> Result<Value, String> {
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
