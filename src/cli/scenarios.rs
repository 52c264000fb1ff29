//! `apprentice scenarios`: what tasks exist, with their spaces: the built-ins, the user's
//! scenario files in `DATA/scenarios` (where the app keeps its editable copies), and `--dir`'s.

use super::output::json_line;
use crate::sim::{Env, ScenarioEnv, Space, builtin};
use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also list the .ron scenario files in this directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row {
    name: String,
    obs_dim: usize,
    action_space: Space,
    path: String,
    description: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (name, _) in builtin::BUILTINS {
        let env = ScenarioEnv::load(name)?;
        rows.push(row(&env, builtin::builtin_path(name).display().to_string()));
    }
    // The user's own (the app's editable copies), then `--dir`'s.
    let mut files = builtin::scenario_files(&crate::data::user_data_dir().join("scenarios")).unwrap_or_default();
    if let Some(dir) = &args.dir {
        files.extend(builtin::scenario_files(dir).with_context(|| format!("--dir {}", dir.display()))?);
    }
    for file in files {
        match ScenarioEnv::from_file(&file) {
            Ok(env) => rows.push(row(&env, file.display().to_string())),
            Err(e) => eprintln!("skipped: {e}"),
        }
    }
    for r in &rows {
        if args.json {
            json_line(r)?;
        } else {
            println!(
                "{:<24} obs {:>3}  actions {:<20} {}",
                r.name,
                r.obs_dim,
                r.action_space.to_string(),
                r.description
            );
        }
    }
    Ok(())
}

fn row(env: &ScenarioEnv, path: String) -> Row {
    Row {
        name: env.scenario().name.clone(),
        obs_dim: env.observation_space().dim(),
        action_space: env.action_space().clone(),
        path,
        description: env.scenario().description.clone(),
    }
}
