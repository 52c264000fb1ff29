//! Learning on Burn: MLP policies, behaviour cloning, evaluation against the expert, and
//! run directories (config, metrics, weights) that reproduce and reload a training run.

pub mod bc;
pub mod dagger;
pub mod eval;
pub mod hindsight;
pub mod policy;
pub mod run;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Field names of a config struct, for error messages.
pub fn field_names<T: Serialize>(config: &T) -> Vec<String> {
    toml::Table::try_from(config).map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

/// Applies the `key=value` overrides whose key is a field of `config` (values in TOML
/// syntax, bare words as strings, as given by `--set`). Returns the new config and the
/// overrides whose key is not one of its fields; a value of the wrong type is an error.
pub fn overrides<T: Serialize + DeserializeOwned>(config: &T, sets: &[String]) -> Result<(T, Vec<String>), String> {
    let mut table = toml::Table::try_from(config).map_err(|e| e.to_string())?;
    let mut unknown = Vec::new();
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| format!("--set takes KEY=VALUE, got `{set}`"))?;
        let key = key.trim();
        if !table.contains_key(key) {
            unknown.push(set.clone());
            continue;
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        table.insert(key.to_string(), value);
    }
    let config =
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| format!("--set: {}", e.message()))?;
    Ok((config, unknown))
}
