//! `apprentice plot`: learning curves of runs as a PNG, without the app.

use super::chart::{Panel, Series, save_png};
use super::output::{json_line, parse_size};
use crate::learn::curves::{self, Curve};
use anyhow::bail;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories. Runs whose settings differ only in `seed` are drawn as one curve: their
    /// mean, with a band of one standard deviation.
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// The PNG file to write.
    #[arg(long)]
    out: PathBuf,
    /// The metrics.csv column to draw (default: `eval/return_mean` when the first run was
    /// evaluated with --eval-every, else its algorithm's headline metric, e.g. `train/loss`).
    #[arg(long)]
    metric: Option<String>,
    /// Draw every run on its own instead of merging seeds.
    #[arg(long)]
    separate: bool,
    /// Image size, WIDTHxHEIGHT.
    #[arg(long, default_value = "960x600", value_parser = parse_size)]
    size: (u32, u32),
    /// Print what was drawn as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Drawn<'a> {
    out: &'a std::path::Path,
    metric: &'a str,
    curves: Vec<DrawnCurve<'a>>,
}

#[derive(Serialize)]
struct DrawnCurve<'a> {
    label: &'a str,
    runs: usize,
    points: usize,
    last_mean: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let metric = match &args.metric {
        Some(m) => m.clone(),
        None => curves::default_metric(&args.runs[0])?,
    };
    let runs = args.runs.iter().map(|dir| curves::read(dir, &metric)).collect::<Result<Vec<_>, _>>()?;
    let x_label = runs[0].x_label;
    if let Some(other) = runs.iter().find(|r| r.x_label != x_label) {
        bail!(
            "{} counts {} but {} counts {x_label}: plot runs whose steps mean the same thing together",
            other.dir.display(),
            other.x_label,
            runs[0].dir.display()
        );
    }
    let curves: Vec<Curve> = if args.separate {
        runs.iter().flat_map(|r| curves::merge_seeds(std::slice::from_ref(r))).collect()
    } else {
        curves::merge_seeds(&runs)
    };
    let panel = Panel {
        title: metric.clone(),
        x_label: x_label.into(),
        y_label: metric.clone(),
        series: curves.iter().map(series).collect(),
        categories: None,
        log_x: false,
    };
    save_png(&args.out, args.size, &[panel])?;
    if args.json {
        let curves = curves
            .iter()
            .map(|c| DrawnCurve {
                label: &c.label,
                runs: c.runs,
                points: c.x.len(),
                last_mean: c.mean.last().copied().unwrap_or(f64::NAN),
            })
            .collect();
        json_line(&Drawn { out: &args.out, metric: &metric, curves })?;
    } else {
        eprintln!("wrote {} ({} curves of {metric})", args.out.display(), curves.len());
    }
    Ok(())
}

/// A merged curve as a line, with its band when it merges several seeds.
fn series(curve: &Curve) -> Series {
    let label = if curve.runs > 1 {
        format!("{} (mean ± sd of {} seeds)", curve.label, curve.runs)
    } else {
        curve.label.clone()
    };
    let points = curve.x.iter().copied().zip(curve.mean.iter().copied()).collect();
    let band = (curve.runs > 1)
        .then(|| curve.x.iter().zip(&curve.mean).zip(&curve.std).map(|((&x, &m), &s)| (x, m - s, m + s)).collect());
    Series { label, points, band }
}
