//! Hyperparameters by name: the dotted keys of a config struct, `--set key=value`
//! overrides, and the live changes a running algorithm accepts.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a hyperparameter could not be set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingError {
    #[error("--set takes KEY=VALUE, got `{0}`")]
    Malformed(String),
    #[error("--set {set}: no such hyperparameter (known: {known})")]
    Unknown { set: String, known: String },
    #[error("`{key}` cannot change during a run (live: {live})")]
    NotLive { key: String, live: String },
    #[error("--set: {0}")]
    BadValue(String),
}

/// Field names of a config struct, nested ones dotted (`policy.head`), for error messages.
pub fn field_names<T: Serialize>(config: &T) -> Vec<String> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            match value {
                toml::Value::Table(inner) => walk(inner, &format!("{prefix}{key}."), out),
                _ => out.push(format!("{prefix}{key}")),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = toml::Table::try_from(config) {
        walk(&table, "", &mut out);
    }
    out
}

/// Applies the `key=value` overrides whose key is a field of `config` (nested fields dotted,
/// `policy.head=mixture`; values in TOML syntax, bare words as strings, as given by
/// `--set`). Returns the new config and the overrides whose key is not one of its fields; a
/// value of the wrong type is an error.
pub fn overrides<T: Serialize + DeserializeOwned>(
    config: &T,
    sets: &[String],
) -> Result<(T, Vec<String>), SettingError> {
    let mut table = toml::Table::try_from(config).map_err(|e| SettingError::BadValue(e.to_string()))?;
    let mut unknown = Vec::new();
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| SettingError::Malformed(set.clone()))?;
        let path: Vec<&str> = key.trim().split('.').collect();
        let (last, parents) = path.split_last().expect("split yields one part");
        let mut at = Some(&mut table);
        for part in parents {
            at = at.and_then(|t| t.get_mut(*part)).and_then(|v| v.as_table_mut());
        }
        let Some(target) = at.filter(|t| t.get(*last).is_some_and(|v| !v.is_table())) else {
            unknown.push(set.clone());
            continue;
        };
        let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        target.insert(last.to_string(), value);
    }
    let config = read(toml::Value::Table(table)).map_err(SettingError::BadValue)?;
    Ok((config, unknown))
}

/// `value` read as `T`; the error of a mistyped or unknown key begins with its dotted path
/// (`policy.hidden[1]: invalid type: string "x", expected usize`).
pub fn read<T: DeserializeOwned>(value: toml::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string() {
        path if path == "." => e.into_inner().message().to_string(),
        path => format!("{path}: {}", e.into_inner().message()),
    })
}

/// Sets one hyperparameter of a running algorithm's config, if `key` is among the `live` ones
/// (those that can change between epochs without rebuilding the network or the data).
pub fn set_live<T: Serialize + DeserializeOwned>(
    config: &mut T,
    key: &str,
    value: &str,
    live: &[&str],
) -> Result<(), SettingError> {
    if !live.contains(&key) {
        return Err(SettingError::NotLive { key: key.into(), live: live.join(", ") });
    }
    let set = format!("{key}={value}");
    let (updated, unknown) = overrides(config, std::slice::from_ref(&set))?;
    if !unknown.is_empty() {
        return Err(SettingError::Unknown { set, known: field_names(config).join(", ") });
    }
    *config = updated;
    Ok(())
}
