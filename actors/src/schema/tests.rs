use serde_json::{json, Value};

use super::{unsupported_keywords, validate};
use crate::spec::TOOLS_JSON;

fn manifest_tool(name: &str) -> Value {
    let manifest: Value = serde_json::from_str(TOOLS_JSON).unwrap();
    manifest["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == format!("mshtools-{name}"))
        .unwrap_or_else(|| panic!("no tool {name}"))["parameters"]
        .clone()
}

fn errors(schema: &Value, value: Value) -> Vec<String> {
    validate(schema, &value).expect_err("expected the value to be rejected")
}

#[test]
fn every_manifest_schema_uses_only_supported_keywords() {
    let manifest: Value = serde_json::from_str(TOOLS_JSON).unwrap();
    let functions = manifest["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 24);
    for function in functions {
        assert_eq!(
            unsupported_keywords(&function["parameters"]),
            Vec::<String>::new(),
            "tool {}",
            function["name"]
        );
    }
}

#[test]
fn unsupported_keywords_are_listed_with_their_location() {
    let schema = json!({
        "type": "object",
        "description": "annotations are fine",
        "properties": {
            "name": {"type": "string", "pattern": "^a"},
            "tags": {"type": "array", "items": {"type": "strin", "minLength": 1}},
            "description": {"type": "string"}
        },
        "oneOf": [{"required": ["name"]}]
    });
    assert_eq!(
        unsupported_keywords(&schema),
        vec![
            "#: oneOf".to_string(),
            "#/properties/name: pattern".to_string(),
            "#/properties/tags/items: minLength".to_string(),
            "#/properties/tags/items/type: unknown type \"strin\"".to_string(),
        ]
    );
}

#[test]
fn valid_arguments_pass() {
    let shell = manifest_tool("shell");
    assert_eq!(validate(&shell, &json!({"command": "ls"})), Ok(()));
    assert_eq!(
        validate(&shell, &json!({"command": "ls", "timeout": 1000})),
        Ok(())
    );
    let todo = manifest_tool("todo_write");
    let todos = json!({"todos": [
        {"content": "a", "priority": "high", "status": "pending"},
        {"content": "b", "id": "2", "priority": "low", "status": "completed"}
    ]});
    assert_eq!(validate(&todo, &todos), Ok(()));
}

#[test]
fn integer_accepts_whole_floats_only() {
    let shell = manifest_tool("shell");
    assert_eq!(
        validate(&shell, &json!({"command": "ls", "timeout": 3.0})),
        Ok(())
    );
    assert_eq!(
        errors(&shell, json!({"command": "ls", "timeout": 3.5})),
        vec!["timeout: expected integer, got number 3.5"]
    );
}

#[test]
fn wrong_type_names_the_field_and_quotes_the_value() {
    let shell = manifest_tool("shell");
    assert_eq!(
        errors(&shell, json!({"command": "ls", "timeout": "10"})),
        vec!["timeout: expected integer, got string \"10\""]
    );
    assert_eq!(
        errors(&shell, json!({"command": ["ls"]})),
        vec!["command: expected string, got array"]
    );
}

#[test]
fn wrong_type_at_the_top_level_has_no_location() {
    let shell = manifest_tool("shell");
    assert_eq!(
        errors(&shell, json!("ls")),
        vec!["expected object, got string \"ls\""]
    );
}

#[test]
fn long_strings_are_cut_in_messages() {
    let schema = json!({"type": "integer"});
    let long = "x".repeat(100);
    let expected = format!("expected integer, got string \"{}\"...", "x".repeat(40));
    assert_eq!(errors(&schema, json!(long)), vec![expected]);
}

#[test]
fn a_list_of_types_accepts_any_of_them() {
    let schema = json!({"type": ["string", "null"]});
    assert_eq!(validate(&schema, &json!(null)), Ok(()));
    assert_eq!(validate(&schema, &json!("a")), Ok(()));
    assert_eq!(
        errors(&schema, json!(true)),
        vec!["expected string or null, got boolean true"]
    );
}

#[test]
fn missing_required_fields_are_each_named() {
    let click = manifest_tool("browser_click");
    assert_eq!(
        errors(&click, json!({"element_index": 1})),
        vec![
            "missing required field \"citation_id\"",
            "missing required field \"url\""
        ]
    );
    assert_eq!(
        errors(&manifest_tool("shell"), json!({})),
        vec!["missing required field \"command\""]
    );
}

#[test]
fn unknown_fields_list_the_allowed_ones() {
    let shell = manifest_tool("shell");
    assert_eq!(
        errors(&shell, json!({"command": "ls", "foo": 1})),
        vec!["unknown field \"foo\" (allowed: command, description, timeout)"]
    );
    assert_eq!(
        errors(&manifest_tool("todo_read"), json!({"x": 1})),
        vec!["unknown field \"x\" (this takes no fields)"]
    );
}

#[test]
fn additional_properties_true_or_absent_allows_anything() {
    let data = manifest_tool("get_data_source");
    let args = json!({"data_source_name": "y", "api_name": "q", "params": {"any": [1, 2]}});
    assert_eq!(validate(&data, &args), Ok(()));
    let open = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    assert_eq!(validate(&open, &json!({"b": 1})), Ok(()));
}

#[test]
fn additional_properties_schema_checks_extra_fields() {
    let schema = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    assert_eq!(validate(&schema, &json!({"a": 1})), Ok(()));
    assert_eq!(
        errors(&schema, json!({"a": 1, "b": "two"})),
        vec!["b: expected integer, got string \"two\""]
    );
}

#[test]
fn enum_violation_names_the_element_path() {
    let todo = manifest_tool("todo_write");
    let todos = json!({"todos": [
        {"content": "a", "priority": "high", "status": "pending"},
        {"content": "b", "priority": "urgent", "status": "done"}
    ]});
    assert_eq!(
        errors(&todo, todos),
        vec![
            "todos[1].priority: must be one of \"high\", \"medium\", \"low\"",
            "todos[1].status: must be one of \"pending\", \"in_progress\", \"completed\""
        ]
    );
}

#[test]
fn enum_compares_numbers_by_value() {
    let schema = json!({"enum": [1, 2]});
    assert_eq!(validate(&schema, &json!(2.0)), Ok(()));
    assert_eq!(errors(&schema, json!(3)), vec!["must be one of 1, 2"]);
}

#[test]
fn items_are_checked_with_their_index() {
    let search = manifest_tool("web_search");
    assert_eq!(
        errors(&search, json!({"queries": ["a", 2, "c"]})),
        vec!["queries[1]: expected string, got number 2"]
    );
    let todo = manifest_tool("todo_write");
    assert_eq!(
        errors(
            &todo,
            json!({"todos": [{"content": "a", "status": "pending"}]})
        ),
        vec!["todos[0]: missing required field \"priority\""]
    );
}

#[test]
fn minimum_and_maximum_are_inclusive_bounds() {
    let sfx = manifest_tool("generate_sound_effects");
    let args = |d: f64| json!({"description": "rain", "duration": d, "output_path": "a.mp3"});
    assert_eq!(validate(&sfx, &args(0.5)), Ok(()));
    assert_eq!(validate(&sfx, &args(22.0)), Ok(()));
    assert_eq!(
        errors(&sfx, args(0.1)),
        vec!["duration: must be at least 0.5"]
    );
    assert_eq!(
        errors(&sfx, args(30.0)),
        vec!["duration: must be at most 22.0"]
    );
}

#[test]
fn any_of_over_required_fields_asks_for_one_of_them() {
    let slides = manifest_tool("slides_generator");
    assert_eq!(validate(&slides, &json!({"file_path": "a.md"})), Ok(()));
    assert_eq!(validate(&slides, &json!({"content": "# Hi"})), Ok(()));
    assert_eq!(
        errors(&slides, json!({})),
        vec!["provide one of: file_path, content"]
    );
}

#[test]
fn any_of_with_other_branches_describes_each_failure() {
    let schema = json!({"properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1}]}}});
    assert_eq!(validate(&schema, &json!({"v": "a"})), Ok(()));
    assert_eq!(validate(&schema, &json!({"v": 2})), Ok(()));
    assert_eq!(
        errors(&schema, json!({"v": 0})),
        vec![
            "v: does not match any of the allowed forms: (1) expected string, got number 0 \
             (2) must be at least 1"
        ]
    );
}

#[test]
fn annotations_never_reject() {
    let schema = json!({
        "type": "boolean",
        "default": false,
        "description": "d",
        "title": "t",
        "examples": [true]
    });
    assert_eq!(validate(&schema, &json!(true)), Ok(()));
}

#[test]
fn a_field_named_like_a_keyword_is_a_field() {
    let deploy = manifest_tool("deploy_website");
    assert_eq!(
        validate(&deploy, &json!({"type": "static", "local_dir": "out"})),
        Ok(())
    );
    assert_eq!(
        errors(&deploy, json!({"type": "dynamic", "local_dir": "out"})),
        vec!["type: must be one of \"static\""]
    );
}
