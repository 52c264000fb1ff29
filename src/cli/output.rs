//! Terminal output shared by commands: JSON lines for machines, progress bars for people.

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Prints one JSON object on its own line.
pub fn json_line(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A progress bar on stderr; hidden when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40.cyan/blue} {pos}/{len} [{elapsed_precise} < {eta_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    bar
}

/// A count that must be at least one (episodes, environments, steps).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A `WIDTHxHEIGHT` argument (windows, images), in pixels.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once('x').ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, e.g. 1280x760"))?;
    let n = |v: &str| match v.trim().parse::<u32>() {
        Ok(px) if (16..=16384).contains(&px) => Ok(px),
        _ => Err(format!("`{s}`: `{v}` is not a size in pixels (16 to 16384)")),
    };
    Ok((n(w)?, n(h)?))
}
