//! The tool registry: the 24 tools of the bundled manifest, each bound to its implementation
//! or, for tools not built yet, to an answer saying so.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{Tool, ToolError, TOOL_PREFIX};
use crate::spec::TOOLS_JSON;

/// One tool as the manifest declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The full name offered to the model, e.g. `mshtools-read_file`.
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

impl ToolSpec {
    /// The name without the manifest prefix, e.g. `read_file`.
    pub fn short_name(&self) -> &str {
        self.name.strip_prefix(TOOL_PREFIX).unwrap_or(&self.name)
    }
}

/// Why the registry could not be built (a broken bundled manifest; a build defect).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the bundled tool manifest is invalid: {0}")]
    Manifest(String),
}

/// The manifest's tools and their implementations.
pub struct ToolRegistry {
    specs: Vec<ToolSpec>,
    by_name: HashMap<String, usize>,
    implementations: HashMap<String, Arc<dyn Tool>>,
    declarations: Arc<Vec<Value>>,
}

impl ToolRegistry {
    /// The registry of the bundled manifest with every tool built so far.
    pub fn bundled() -> Result<Self, RegistryError> {
        let mut tools = Vec::new();
        tools.extend(super::todo::tools());
        tools.extend(super::files::tools());
        tools.extend(super::shell::tools());
        tools.extend(super::deploy::tools());
        tools.extend(super::python::tools());
        tools.extend(super::slides::tools());
        tools.extend(super::search::tools());
        tools.extend(super::data_source::tools());
        tools.extend(super::media::tools());
        tools.extend(super::browser::tools());
        Self::from_manifest(TOOLS_JSON, tools)
    }

    /// Builds a registry from a manifest and implementations (each named without the prefix).
    pub fn from_manifest(manifest: &str, tools: Vec<Arc<dyn Tool>>) -> Result<Self, RegistryError> {
        let manifest: Value =
            serde_json::from_str(manifest).map_err(|e| RegistryError::Manifest(e.to_string()))?;
        let functions = manifest["functions"]
            .as_array()
            .ok_or_else(|| RegistryError::Manifest("no \"functions\" array".into()))?;
        let mut specs = Vec::with_capacity(functions.len());
        for function in functions {
            let field = |name: &str| {
                function
                    .get(name)
                    .cloned()
                    .ok_or_else(|| RegistryError::Manifest(format!("a function has no \"{name}\"")))
            };
            let name = field("name")?
                .as_str()
                .ok_or_else(|| RegistryError::Manifest("a function name is not a string".into()))?
                .to_string();
            let description = field("description")?
                .as_str()
                .unwrap_or_default()
                .to_string();
            specs.push(ToolSpec {
                name,
                description,
                parameters: field("parameters")?,
            });
        }
        let by_name = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.name.clone(), i))
            .collect();
        let mut implementations = HashMap::new();
        for tool in tools {
            let full = format!("{TOOL_PREFIX}{}", tool.name());
            if !specs.iter().any(|s| s.name == full) {
                return Err(RegistryError::Manifest(format!(
                    "tool {full} is implemented but not in the manifest"
                )));
            }
            implementations.insert(full, tool);
        }
        let declarations = Arc::new(
            specs
                .iter()
                .map(|spec| {
                    json!({
                        "type": "function",
                        "function": {
                            "name": spec.name,
                            "description": spec.description,
                            "parameters": spec.parameters,
                        }
                    })
                })
                .collect(),
        );
        Ok(Self {
            specs,
            by_name,
            implementations,
            declarations,
        })
    }

    /// Every tool, in manifest order.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// A tool by its full or short name.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        let full = self.full_name(name);
        self.by_name.get(full.as_str()).map(|&i| &self.specs[i])
    }

    /// Whether the tool has an implementation (rather than a "not available yet" answer).
    pub fn is_available(&self, name: &str) -> bool {
        self.implementations.contains_key(&self.full_name(name))
    }

    /// The tool declarations sent to the model: exactly the manifest's names, descriptions and
    /// parameter schemas.
    pub fn declarations(&self) -> Arc<Vec<Value>> {
        self.declarations.clone()
    }

    /// Checks a call's name and raw JSON arguments; returns the implementation and parsed args.
    pub fn prepare(
        &self,
        name: &str,
        arguments: &str,
    ) -> Result<(Arc<dyn Tool>, Value), ToolError> {
        let Some(spec) = self.by_name.get(name).map(|&i| &self.specs[i]) else {
            let known: Vec<&str> = self.specs.iter().map(|s| s.name.as_str()).collect();
            return Err(ToolError::InvalidArguments(format!(
                "there is no tool named \"{name}\"; the tools are: {}",
                known.join(", ")
            )));
        };
        let args: Value = if arguments.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|e| {
                ToolError::InvalidArguments(format!(
                    "the arguments are not valid JSON ({e}); send a JSON object matching the tool's parameters"
                ))
            })?
        };
        if let Err(problems) = crate::schema::validate(&spec.parameters, &args) {
            return Err(ToolError::InvalidArguments(format!(
                "the arguments do not match the schema of {}: {}",
                spec.name,
                problems.join("; ")
            )));
        }
        match self.implementations.get(&spec.name) {
            Some(tool) => Ok((tool.clone(), args)),
            None => Err(ToolError::Unavailable(format!(
                "{} is not available yet in this OKCVM build; use the other tools to continue",
                spec.name
            ))),
        }
    }

    fn full_name(&self, name: &str) -> String {
        if name.starts_with(TOOL_PREFIX) {
            name.to_string()
        } else {
            format!("{TOOL_PREFIX}{name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_tool_is_built() {
        let registry = ToolRegistry::bundled().unwrap();
        let missing: Vec<&str> = registry
            .specs()
            .iter()
            .filter(|s| !registry.is_available(&s.name))
            .map(|s| s.name.as_str())
            .collect();
        assert!(missing.is_empty(), "not built: {missing:?}");
    }

    #[test]
    fn every_manifest_tool_is_registered_and_declared_verbatim() {
        let registry = ToolRegistry::bundled().unwrap();
        let manifest: Value = serde_json::from_str(TOOLS_JSON).unwrap();
        let functions = manifest["functions"].as_array().unwrap();
        assert_eq!(registry.specs().len(), 24);
        let declared = registry.declarations();
        for (function, declaration) in functions.iter().zip(declared.iter()) {
            assert_eq!(declaration["type"], "function");
            assert_eq!(declaration["function"]["name"], function["name"]);
            assert_eq!(
                declaration["function"]["description"],
                function["description"]
            );
            assert_eq!(
                declaration["function"]["parameters"],
                function["parameters"]
            );
        }
    }

    #[test]
    fn unbuilt_tool_answers_that_it_is_not_available() {
        // Every manifest tool is built now; a registry without implementations shows the answer.
        let registry = ToolRegistry::from_manifest(TOOLS_JSON, Vec::new()).unwrap();
        let err = registry
            .prepare(
                "mshtools-browser_visit",
                r#"{"citation_id":1,"url":"https://example.com/"}"#,
            )
            .err()
            .unwrap();
        assert!(
            matches!(err, ToolError::Unavailable(ref m) if m.contains("not available yet")),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_tool_and_bad_json_are_argument_errors() {
        let registry = ToolRegistry::bundled().unwrap();
        let unknown = registry.prepare("mshtools-teleport", "{}").err().unwrap();
        assert!(
            matches!(unknown, ToolError::InvalidArguments(ref m) if m.contains("no tool named"))
        );
        let bad = registry
            .prepare("mshtools-todo_read", "{not json")
            .err()
            .unwrap();
        assert!(matches!(bad, ToolError::InvalidArguments(ref m) if m.contains("not valid JSON")));
    }
}
