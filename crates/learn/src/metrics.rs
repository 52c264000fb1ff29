//! `RUN/metrics.csv`, written as training goes: one row per log step, flushed at once so a
//! crash keeps every row logged before it. Columns: `step`, the algorithm's fixed metric names
//! (`train/loss`, `val/loss`, ...) and `note`, where a hyperparameter change appears on the
//! first row logged after it took effect (`lr=0.0003`).

use super::trainer::Metrics;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub struct MetricsWriter {
    path: PathBuf,
    file: File,
    /// Column names after `step`, fixed by the first row (or the existing file).
    columns: Option<Vec<String>>,
    note: Vec<String>,
}

impl MetricsWriter {
    /// Appends to `path`, keeping the rows (and columns) already there: a resumed run
    /// continues its own file.
    pub fn open(path: &Path) -> std::io::Result<MetricsWriter> {
        let columns = match File::open(path) {
            Ok(f) => BufReader::new(f)
                .lines()
                .next()
                .transpose()?
                .map(|header| header.split(',').skip(1).filter(|c| *c != "note").map(str::to_string).collect()),
            Err(_) => None,
        };
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(MetricsWriter { path: path.to_owned(), file, columns, note: Vec::new() })
    }

    /// Remembers a change for the next row's `note`.
    pub fn note(&mut self, text: String) {
        self.note.push(text);
    }

    pub fn write(&mut self, metrics: &Metrics) -> std::io::Result<()> {
        let columns = match &self.columns {
            Some(c) => c.clone(),
            None => {
                let names: Vec<String> = metrics.values.iter().map(|(n, _)| n.to_string()).collect();
                writeln!(self.file, "step,{},note", names.join(","))?;
                self.columns = Some(names.clone());
                names
            }
        };
        let value = |name: &str| {
            metrics.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).unwrap_or_default()
        };
        let cells: Vec<String> = columns.iter().map(|c| value(c)).collect();
        writeln!(self.file, "{},{},{}", metrics.step, cells.join(","), self.note.join(" "))?;
        self.note.clear();
        self.file.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Log steps and the step counter of a behaviour-cloning run's metrics so far: (rows, last
/// `step`), for resuming it.
pub fn last_row(path: &Path) -> std::io::Result<(usize, usize)> {
    let lines: Vec<String> = BufReader::new(File::open(path)?).lines().collect::<Result<_, _>>()?;
    let rows = lines.len().saturating_sub(1);
    let step = lines.last().filter(|_| rows > 0).and_then(|l| l.split(',').next()?.parse().ok()).unwrap_or(0);
    Ok((rows, step))
}
