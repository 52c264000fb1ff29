//! Learning on Burn: MLP policies, behaviour cloning, DAgger, reinforcement learning (REINFORCE,
//! PPO, DQN, SAC, TD3) and its hybrids with demonstrations (DAPG, DQfD, SACfD, AWR, BC
//! finetuning), evaluation against the expert, and run directories (config, metrics,
//! weights) that reproduce and reload a training run.

pub mod artifact;
pub mod awr;
pub mod batch;
pub mod bc;
pub mod buffer;
pub mod critic;
pub mod dagger;
pub mod describe;
pub mod device;
pub mod dqn;
pub mod error;
pub mod eval;
pub mod hindsight;
pub mod metrics;
pub mod offpolicy;
pub mod policy;
pub mod ppo;
pub mod registry;
pub mod reinforce;
pub mod rl;
pub mod run;
pub mod sac;
pub mod sink;
pub mod td3;
pub mod trainer;

pub use error::TrainError;

use serde::Serialize;
use serde::de::DeserializeOwned;

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
pub fn overrides<T: Serialize + DeserializeOwned>(config: &T, sets: &[String]) -> Result<(T, Vec<String>), String> {
    let mut table = toml::Table::try_from(config).map_err(|e| e.to_string())?;
    let mut unknown = Vec::new();
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| format!("--set takes KEY=VALUE, got `{set}`"))?;
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
    let config =
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| format!("--set: {}", e.message()))?;
    Ok((config, unknown))
}

/// Sets one hyperparameter of a running algorithm's config, if `key` is among the `live` ones
/// (those that can change between epochs without rebuilding the network or the data).
pub fn set_live<T: Serialize + DeserializeOwned>(
    config: &mut T,
    key: &str,
    value: &str,
    live: &[&str],
) -> Result<(), String> {
    if !live.contains(&key) {
        return Err(format!("`{key}` cannot change during a run (live: {})", live.join(", ")));
    }
    let (updated, unknown) = overrides(config, &[format!("{key}={value}")])?;
    if !unknown.is_empty() {
        return Err(format!("no such hyperparameter `{key}`"));
    }
    *config = updated;
    Ok(())
}
