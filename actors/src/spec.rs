//! The bundled OK Computer contract: the system prompt and the tool manifest, embedded
//! verbatim. The only change made at runtime is the prompt's date line.

use chrono::NaiveDate;

/// The system prompt exactly as published.
pub const SYSTEM_PROMPT: &str = include_str!("../spec/system_prompt.md");

/// The tool manifest exactly as published (`{"functions": [..]}`).
pub const TOOLS_JSON: &str = include_str!("../spec/tools.json");

const DATE_LINE_PREFIX: &str = "Current date: ";

/// The system prompt with its date line set to `date`, in the prompt's own format
/// (`2025年10月02日`).
pub fn system_prompt_for(date: NaiveDate) -> String {
    let formatted = date.format("%Y年%m月%d日").to_string();
    let mut out = String::with_capacity(SYSTEM_PROMPT.len());
    for line in SYSTEM_PROMPT.split_inclusive('\n') {
        if line.starts_with(DATE_LINE_PREFIX) {
            out.push_str(DATE_LINE_PREFIX);
            out.push_str(&formatted);
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The system prompt dated today (local time).
pub fn system_prompt_today() -> String {
    system_prompt_for(chrono::Local::now().date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_line_is_replaced_and_nothing_else_changes() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let prompt = system_prompt_for(date);
        assert!(prompt.contains("\nCurrent date: 2026年01月07日\n"));
        assert!(!prompt.contains("2025年10月02日"));
        let original: Vec<&str> = SYSTEM_PROMPT.lines().collect();
        let replaced: Vec<&str> = prompt.lines().collect();
        assert_eq!(original.len(), replaced.len());
        let differing = original
            .iter()
            .zip(&replaced)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 1);
    }

    #[test]
    fn manifest_is_valid_json_with_24_functions() {
        let manifest: serde_json::Value = serde_json::from_str(TOOLS_JSON).unwrap();
        assert_eq!(manifest["functions"].as_array().unwrap().len(), 24);
    }
}
