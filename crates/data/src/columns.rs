//! Episode data as Arrow columns, and parquet files written and read, for the dataset formats
//! of other tools (Minari, LeRobot): observations and actions as fixed-size lists, actions
//! typed by the scenario's action space.

use super::codec::DataError;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field};
use sim::{Action, Space};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an import of another tool's dataset read: the episodes, and each one it could not
/// read with why (the rest still load).
pub struct Imported {
    pub episodes: Vec<super::Episode>,
    pub skipped: Vec<DataError>,
}

pub(crate) fn invalid(path: &Path, what: impl Into<String>) -> DataError {
    DataError::Invalid { path: path.to_owned(), what: what.into() }
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io { path: path.to_owned(), source }
}

/// Readies `dir` for an export in `format`: a new or empty folder as it is; an earlier export
/// of the format (it holds `marker`) loses its `parts`, so no file of it outlives the new one
/// (an episode folder of a longer export, say). Anything else is refused: an export never
/// writes among files it did not make, nor into an apprentice dataset.
pub(crate) fn clear_for_export(dir: &Path, format: &str, marker: &str, parts: &[&str]) -> Result<(), DataError> {
    let earlier_export = dir.join(marker).is_file() && !dir.join("episodes").is_dir();
    if super::dataset::holds_files(dir) && !earlier_export {
        return Err(invalid(dir, format!("not empty and not an earlier {format} export: export to a new folder")));
    }
    for part in parts.iter().map(|part| dir.join(part)).filter(|part| part.exists()) {
        std::fs::remove_dir_all(&part).map_err(io(&part))?;
    }
    Ok(())
}

/// Writes one batch as a parquet file (snappy-compressed, as pyarrow writes by default).
pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), DataError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let file = std::fs::File::create(path).map_err(io(path))?;
    let fail = |e: parquet::errors::ParquetError| invalid(path, e.to_string());
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(fail)?;
    writer.write(batch).map_err(fail)?;
    writer.close().map_err(fail)?;
    Ok(())
}

/// Every row of the parquet (or, with `ipc`, Arrow IPC) files, in the order given, as one batch.
pub(crate) fn read_files(files: &[PathBuf], ipc: bool) -> Result<RecordBatch, DataError> {
    let mut batches = Vec::new();
    for path in files {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let fail = |e: String| invalid(path, e);
        if ipc {
            let reader = arrow_ipc::reader::FileReader::try_new(file, None).map_err(|e| fail(e.to_string()))?;
            for batch in reader {
                batches.push(batch.map_err(|e| fail(e.to_string()))?);
            }
        } else {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| fail(e.to_string()))?;
            for batch in reader {
                batches.push(batch.map_err(|e| fail(e.to_string()))?);
            }
        }
    }
    let Some(first) = batches.first() else {
        return Err(DataError::Invalid {
            path: files.first().cloned().unwrap_or_default(),
            what: "no data file".into(),
        });
    };
    arrow_select::concat::concat_batches(&first.schema(), &batches)
        .map_err(|e| invalid(files.first().map_or(Path::new(""), |p| p.as_path()), e.to_string()))
}

/// The files with extension `ext` in `dir` (and, `nested`, in its subfolders), sorted by path.
pub(crate) fn files_in(dir: &Path, ext: &str, nested: bool) -> Result<Vec<PathBuf>, DataError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() && nested {
            found.extend(files_in(&path, ext, false)?);
        } else if path.extension().is_some_and(|x| x == ext) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Rows of equal length as a fixed-size list of float32.
pub(crate) fn floats(rows: &[&[f32]]) -> ArrayRef {
    let dim = rows.first().map_or(0, |r| r.len());
    let values = Float32Array::from(rows.iter().flat_map(|r| r.iter().copied()).collect::<Vec<_>>());
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    Arc::new(FixedSizeListArray::new(item, dim as i32, Arc::new(values), None))
}

/// One boolean per row.
pub(crate) fn bools(values: impl IntoIterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(values.into_iter().collect::<Vec<_>>()))
}

/// Actions in the column type of `space` (int64 for Discrete, fixed-size lists of float32 for
/// Box and of int64 for MultiDiscrete); a missing one (padding, no label) is zeros.
pub(crate) fn action_column(actions: &[Option<&Action>], space: &Space) -> ArrayRef {
    match space {
        Space::Box { low, .. } => {
            let zeros = vec![0.0; low.len()];
            let rows: Vec<&[f32]> = actions
                .iter()
                .map(|a| match a {
                    Some(Action::Continuous(v)) => v.as_slice(),
                    _ => zeros.as_slice(),
                })
                .collect();
            floats(&rows)
        }
        Space::Discrete { .. } => Arc::new(Int64Array::from(
            actions.iter().map(|a| if let Some(Action::Discrete(c)) = a { *c as i64 } else { 0 }).collect::<Vec<_>>(),
        )),
        Space::MultiDiscrete { nvec } => {
            let values: Vec<i64> = actions
                .iter()
                .flat_map(|a| match a {
                    Some(Action::MultiDiscrete(v)) => v.iter().map(|&c| c as i64).collect(),
                    _ => vec![0; nvec.len()],
                })
                .collect();
            let item = Arc::new(Field::new("item", DataType::Int64, true));
            Arc::new(FixedSizeListArray::new(item, nvec.len() as i32, Arc::new(Int64Array::from(values)), None))
        }
    }
}

/// Rows of `dim` floats from a fixed-size list of float32 or float64.
pub(crate) fn float_rows(column: &ArrayRef, dim: usize) -> Result<Vec<Vec<f32>>, String> {
    let list =
        column.as_fixed_size_list_opt().ok_or_else(|| format!("{} is not a fixed-size list", column.data_type()))?;
    if list.value_length() as usize != dim {
        return Err(format!("rows of {} values; the scenario has {dim}", list.value_length()));
    }
    let values: Vec<f32> = match list.values().data_type() {
        DataType::Float32 => list.values().as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => list.values().as_primitive::<Float64Type>().values().iter().map(|&v| v as f32).collect(),
        other => return Err(format!("values are {other}, not floats")),
    };
    Ok(values.chunks(dim.max(1)).map(<[f32]>::to_vec).take(list.len()).collect())
}

/// Floats from a float32 or float64 column.
pub(crate) fn float_column(column: &ArrayRef) -> Result<Vec<f32>, String> {
    match column.data_type() {
        DataType::Float64 => Ok(column.as_primitive::<Float64Type>().values().iter().map(|&r| r as f32).collect()),
        DataType::Float32 => Ok(column.as_primitive::<Float32Type>().values().to_vec()),
        other => Err(format!("{other}, not floats")),
    }
}

/// Booleans from a boolean column (nulls read as false).
pub(crate) fn bool_column(column: &ArrayRef) -> Result<Vec<bool>, String> {
    let b = column.as_boolean_opt().ok_or_else(|| format!("{}, not booleans", column.data_type()))?;
    Ok(b.iter().map(|v| v.unwrap_or(false)).collect())
}

/// Actions of `space` from their column (as `action_column` writes them).
pub(crate) fn read_actions(column: &ArrayRef, space: &Space) -> Result<Vec<Action>, String> {
    match space {
        Space::Box { low, .. } => Ok(float_rows(column, low.len())?.into_iter().map(Action::Continuous).collect()),
        Space::Discrete { .. } => {
            let ints =
                column.as_primitive_opt::<Int64Type>().ok_or_else(|| format!("{} is not int64", column.data_type()))?;
            Ok(ints.values().iter().map(|&c| Action::Discrete(c.max(0) as usize)).collect())
        }
        Space::MultiDiscrete { nvec } => {
            let list = column
                .as_fixed_size_list_opt()
                .ok_or_else(|| format!("{} is not a fixed-size list", column.data_type()))?;
            let ints = list.values().as_primitive_opt::<Int64Type>().ok_or("values are not int64")?;
            Ok(ints
                .values()
                .chunks(nvec.len().max(1))
                .map(|c| Action::MultiDiscrete(c.iter().map(|&x| x.max(0) as usize).collect()))
                .collect())
        }
    }
}
