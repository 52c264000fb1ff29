//! A config struct's own description of its fields (dotted key, doc comment, kind, current
//! value), read from its JSON schema. The app generates its hyperparameter panels from it,
//! so the doc comment on a field is the tooltip the user sees.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// What values a field takes, and so which widget edits it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Integer,
    Number,
    Bool,
    /// One of these names.
    Choice(Vec<String>),
    /// Anything else (lists, optional values), edited as TOML text.
    Text,
}

/// One hyperparameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Dotted path, as `--set` takes it (`policy.head`).
    pub key: String,
    /// The field's doc comment.
    pub doc: String,
    pub kind: FieldKind,
    /// The current value in TOML syntax, as `--set` takes it.
    pub value: String,
}

/// The fields of `config`, nested structs flattened to dotted keys, in declaration order.
pub fn fields<T: JsonSchema + Serialize>(config: &T) -> Vec<Field> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    let values = serde_json::to_value(config).unwrap_or(Value::Null);
    // The schema lists properties alphabetically; a TOML table keeps the serialized order.
    let order = toml::Table::try_from(config).unwrap_or_default();
    let defs = schema.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut out = Vec::new();
    walk(&schema, &values, &order, "", &defs, &mut out);
    out
}

/// Follows a `$ref` into the definitions (schemars puts nested types there).
fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r.rsplit('/').next().and_then(|name| defs.get(name)).unwrap_or(schema),
        None => schema,
    }
}

fn walk(
    schema: &Value,
    values: &Value,
    order: &toml::Table,
    prefix: &str,
    defs: &Map<String, Value>,
    out: &mut Vec<Field>,
) {
    let schema = resolve(schema, defs);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    let mut properties: Vec<_> = properties.iter().collect();
    // Declaration order; fields TOML leaves out (None) go last.
    properties.sort_by_key(|(name, _)| order.keys().position(|k| k == *name).unwrap_or(usize::MAX));
    for (name, property) in properties {
        let key = format!("{prefix}{name}");
        let value = values.get(name).cloned().unwrap_or(Value::Null);
        let target = resolve(property, defs);
        if target.get("properties").is_some() {
            let nested = order.get(name).and_then(toml::Value::as_table).cloned().unwrap_or_default();
            walk(target, &value, &nested, &format!("{key}."), defs, out);
            continue;
        }
        let doc = property.get("description").or_else(|| target.get("description"));
        out.push(Field {
            key,
            doc: doc.and_then(Value::as_str).unwrap_or_default().to_string(),
            kind: kind(target),
            value: toml_value(&value),
        });
    }
}

fn kind(schema: &Value) -> FieldKind {
    let choices: Vec<String> = match (schema.get("enum"), schema.get("oneOf")) {
        (Some(Value::Array(names)), _) => names.iter().filter_map(Value::as_str).map(String::from).collect(),
        (_, Some(Value::Array(variants))) => variants
            .iter()
            .filter_map(|v| v.get("const").or_else(|| v.get("enum").and_then(|e| e.get(0))))
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    if !choices.is_empty() {
        return FieldKind::Choice(choices);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => FieldKind::Integer,
        Some("number") => FieldKind::Number,
        Some("boolean") => FieldKind::Bool,
        _ => FieldKind::Text,
    }
}

/// A JSON value written as TOML, the syntax of `--set` (strings bare, as it accepts them).
fn toml_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bc::BcConfig;

    #[test]
    fn bc_config_describes_every_field_with_its_doc_comment_and_kind() {
        let fields = fields(&BcConfig::default());
        let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, crate::field_names(&BcConfig::default()).iter().map(String::as_str).collect::<Vec<_>>());
        let get = |k: &str| fields.iter().find(|f| f.key == k).expect(k);
        assert_eq!(get("lr").kind, FieldKind::Number);
        assert_eq!(get("lr").doc, "Adam learning rate.");
        assert_eq!(get("lr").value, "0.001");
        assert_eq!(get("batch_size").kind, FieldKind::Integer);
        assert_eq!(get("use_expert_labels").kind, FieldKind::Bool);
        assert_eq!(
            get("policy.head").kind,
            FieldKind::Choice(
                ["deterministic", "gaussian", "tanh_gaussian", "mixture", "autoregressive"].map(String::from).to_vec()
            )
        );
        assert_eq!(get("policy.hidden").kind, FieldKind::Text);
        assert_eq!(get("policy.hidden").value, "[128,128]");
        assert!(fields.iter().all(|f| !f.doc.is_empty()), "every field has a doc comment: {fields:#?}");
        // Every value round-trips through --set.
        let sets: Vec<String> = fields.iter().map(|f| format!("{}={}", f.key, f.value)).collect();
        assert_eq!(BcConfig::default().with_overrides(&sets), Ok(BcConfig::default()));
    }
}
