//! The built-in scenarios, embedded in the binary, and name-or-path resolution.

use super::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        /// `(name, file text)` of every built-in scenario.
        pub const BUILTINS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../scenarios/", $name, ".ron")))),*
        ];
    };
}

builtins!(
    "cartpole",
    "cartpole_continuous",
    "pendulum",
    "acrobot",
    "mountain_car",
    "lunar_lander",
    "lunar_lander_continuous",
    "reacher",
    "push_t",
    "car_track",
    "detour",
);

/// The repository this crate was built in (two levels above `crates/sim`): where the
/// scenario files, bundled assets and examples live.
pub fn source_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/sim sits two levels below the root")
}

/// The `.ron` scenario files in `dir`, sorted by path.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "ron") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Where a built-in scenario's file lives in the source tree.
pub fn builtin_path(name: &str) -> PathBuf {
    source_root().join("scenarios").join(format!("{name}.ron"))
}

/// Parses a built-in scenario by name.
pub fn builtin(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(n, text)| Scenario::parse(text, &builtin_path(n)))
}

/// A built-in name, or a path to a `.ron` file.
pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let path = Path::new(name_or_path);
    if path.is_file() || name_or_path.ends_with(".ron") {
        return Scenario::load(path);
    }
    builtin(name_or_path).unwrap_or_else(|| Err(ScenarioError::Unknown(name_or_path.to_string())))
}
