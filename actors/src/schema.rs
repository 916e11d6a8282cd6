//! Validation of tool arguments against the manifest's JSON schemas.
//!
//! Only the keywords the bundled manifest uses are implemented: `type` (a name or a list of
//! names), `properties`, `required`, `additionalProperties` (a boolean or a schema), `items`,
//! `enum`, `minimum`, `maximum` and `anyOf`. Annotations (`description`, `default`, `title`,
//! `examples` ...) are ignored. Any other keyword is reported by [`unsupported_keywords`], and a
//! test asserts that list is empty for every tool, so a new keyword in the manifest cannot be
//! silently ignored.
//!
//! Messages are written for the model, which reads them and fixes its call: each one starts with
//! the location of the problem (`todos[0].priority: ...`) unless the problem is at the top level.

use serde_json::{Map, Value};

/// Keywords the validator acts on.
const VALIDATION_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "anyOf",
];

/// Keywords that only describe a schema and never reject a value.
const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "default",
    "title",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The names `type` may take.
const TYPE_NAMES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Longest string quoted back in a message, in characters.
const QUOTE_LIMIT: usize = 40;

/// Checks `value` against `schema`; each problem is one message naming where it is.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check(schema, value, &mut Vec::new(), &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every keyword anywhere in `schema` that [`validate`] would not act on and is not an
/// annotation, as `location: keyword` (the location is a JSON pointer into the schema). Also
/// lists `type` names that are not JSON-schema types.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_unsupported(schema, "#", &mut found);
    found
}

/// One step of the path from the arguments' root to a value.
enum Segment<'a> {
    Field(&'a str),
    Index(usize),
}

fn location(path: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn report(path: &[Segment<'_>], message: String, errors: &mut Vec<String>) {
    let at = location(path);
    if at.is_empty() {
        errors.push(message);
    } else {
        errors.push(format!("{at}: {message}"));
    }
}

fn check<'a>(
    schema: &Value,
    value: &'a Value,
    path: &mut Vec<Segment<'a>>,
    errors: &mut Vec<String>,
) {
    let Some(schema) = schema.as_object() else {
        // `true`, `{}` and anything that is not an object accept every value.
        if schema == &Value::Bool(false) {
            report(path, "no value is allowed here".to_string(), errors);
        }
        return;
    };

    if let Some(expected) = schema.get("type") {
        if !type_matches(expected, value) {
            report(
                path,
                format!(
                    "expected {}, got {}",
                    expected_types(expected),
                    describe(value)
                ),
                errors,
            );
            // The other keywords would only repeat the mismatch in other words.
            return;
        }
    }

    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.iter().any(|a| json_equal(a, value)) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            report(path, format!("must be one of {}", list.join(", ")), errors);
        }
    }

    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                let bound = &schema["minimum"];
                report(path, format!("must be at least {bound}"), errors);
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                let bound = &schema["maximum"];
                report(path, format!("must be at most {bound}"), errors);
            }
        }
    }

    if let Value::Object(fields) = value {
        check_object(schema, fields, path, errors);
    }

    if let (Some(items), Value::Array(elements)) = (schema.get("items"), value) {
        for (i, element) in elements.iter().enumerate() {
            path.push(Segment::Index(i));
            check(items, element, path, errors);
            path.pop();
        }
    }

    if let Some(Value::Array(branches)) = schema.get("anyOf") {
        check_any_of(branches, value, path, errors);
    }
}

fn check_object<'a>(
    schema: &Map<String, Value>,
    fields: &'a Map<String, Value>,
    path: &mut Vec<Segment<'a>>,
    errors: &mut Vec<String>,
) {
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);

    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                report(path, format!("missing required field \"{name}\""), errors);
            }
        }
    }

    let additional = schema.get("additionalProperties");
    for (name, field) in fields {
        path.push(Segment::Field(name));
        match (properties.get(name), additional) {
            (Some(field_schema), _) => check(field_schema, field, path, errors),
            (None, Some(Value::Bool(false))) => {
                path.pop();
                let mut allowed: Vec<&str> = properties.keys().map(String::as_str).collect();
                allowed.sort_unstable();
                let allowed = if allowed.is_empty() {
                    "this takes no fields".to_string()
                } else {
                    format!("allowed: {}", allowed.join(", "))
                };
                report(
                    path,
                    format!("unknown field \"{name}\" ({allowed})"),
                    errors,
                );
                continue;
            }
            (None, Some(extra @ Value::Object(_))) => check(extra, field, path, errors),
            (None, _) => {}
        }
        path.pop();
    }
}

fn check_any_of<'a>(
    branches: &[Value],
    value: &'a Value,
    path: &mut Vec<Segment<'a>>,
    errors: &mut Vec<String>,
) {
    let mut branch_errors = Vec::with_capacity(branches.len());
    for branch in branches {
        let mut found = Vec::new();
        check(branch, value, path, &mut found);
        if found.is_empty() {
            return;
        }
        branch_errors.push(found);
    }

    // The common shape "give at least one of these fields" reads best said plainly.
    let required_only: Option<Vec<String>> = branches
        .iter()
        .map(|branch| {
            let branch = branch.as_object()?;
            let validating = branch
                .keys()
                .filter(|k| !ANNOTATION_KEYWORDS.contains(&k.as_str()));
            if validating.clone().count() != 1 {
                return None;
            }
            let names: Vec<&str> = branch
                .get("required")?
                .as_array()?
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()?;
            Some(names.join(" and "))
        })
        .collect();
    let message = match required_only {
        Some(alternatives) if !alternatives.is_empty() => {
            format!("provide one of: {}", alternatives.join(", "))
        }
        _ => {
            // Branch messages repeat this location; say it once, in front.
            let at = location(path);
            let prefix = format!("{at}: ");
            let described: Vec<String> = branch_errors
                .iter()
                .enumerate()
                .map(|(i, found)| {
                    let found: Vec<&str> = found
                        .iter()
                        .map(|m| {
                            if at.is_empty() {
                                m.as_str()
                            } else {
                                m.strip_prefix(&prefix).unwrap_or(m)
                            }
                        })
                        .collect();
                    format!("({}) {}", i + 1, found.join("; "))
                })
                .collect();
            format!(
                "does not match any of the allowed forms: {}",
                described.join(" ")
            )
        }
    };
    report(path, message, errors);
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::String(name) => type_name_matches(name, value),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .any(|name| type_name_matches(name, value)),
        // A malformed `type` is reported by `unsupported_keywords`, not held against the value.
        _ => true,
    }
}

fn type_name_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn expected_types(expected: &Value) -> String {
    match expected {
        Value::Array(names) => {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            names.join(" or ")
        }
        Value::String(name) => name.clone(),
        other => other.to_string(),
    }
}

/// The value as the model will recognise it: its JSON type and, for scalars, the value.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            if s.chars().count() > QUOTE_LIMIT {
                let cut: String = s.chars().take(QUOTE_LIMIT).collect();
                format!("string {}...", Value::String(cut))
            } else {
                format!("string {}", Value::String(s.clone()))
            }
        }
        Value::Array(_) => "array".to_string(),
        Value::Object(_) => "object".to_string(),
    }
}

/// JSON equality where `3` and `3.0` are the same number.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn collect_unsupported(schema: &Value, at: &str, found: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if !schema.is_boolean() {
            found.push(format!("{at}: a schema must be an object or a boolean"));
        }
        return;
    };
    for (keyword, inner) in schema {
        let here = format!("{at}/{keyword}");
        match keyword.as_str() {
            "properties" => match inner.as_object() {
                Some(properties) => {
                    for (name, property) in properties {
                        collect_unsupported(property, &format!("{here}/{name}"), found);
                    }
                }
                None => found.push(format!("{here}: must be an object")),
            },
            "additionalProperties" | "items" => {
                if inner.is_array() {
                    found.push(format!("{here}: the list form is not supported"));
                } else {
                    collect_unsupported(inner, &here, found);
                }
            }
            "anyOf" => match inner.as_array() {
                Some(branches) => {
                    for (i, branch) in branches.iter().enumerate() {
                        collect_unsupported(branch, &format!("{here}/{i}"), found);
                    }
                }
                None => found.push(format!("{here}: must be a list")),
            },
            "type" => {
                let names: Vec<&Value> = match inner {
                    Value::Array(names) => names.iter().collect(),
                    other => vec![other],
                };
                for name in names {
                    if !name.as_str().is_some_and(|n| TYPE_NAMES.contains(&n)) {
                        found.push(format!("{here}: unknown type {name}"));
                    }
                }
            }
            "minimum" | "maximum" if !inner.is_number() => {
                found.push(format!("{here}: must be a number"));
            }
            "enum" | "required" if !inner.is_array() => {
                found.push(format!("{here}: must be a list"));
            }
            k if VALIDATION_KEYWORDS.contains(&k) || ANNOTATION_KEYWORDS.contains(&k) => {}
            _ => found.push(format!("{at}: {keyword}")),
        }
    }
}

#[cfg(test)]
mod tests;
