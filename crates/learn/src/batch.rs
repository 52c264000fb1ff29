//! What every trainer does to feed a network and read it back: actions as a head's
//! targets, flat rows as tensors, tensors as numbers.

use burn::prelude::*;
use burn::tensor::TensorData;
use sim::{Action, Space};

/// Appends `action` as a head's training target: choice indices to `classes`, continuous
/// values to `floats`, rescaled to [-1, 1] by `space` (pass `None` for an action that a
/// network chose and is already scaled).
pub fn push_target(action: &Action, space: Option<&Space>, floats: &mut Vec<f32>, classes: &mut Vec<i64>) {
    match (action, space) {
        (Action::Discrete(c), _) => classes.push(*c as i64),
        (Action::MultiDiscrete(v), _) => classes.extend(v.iter().map(|&c| c as i64)),
        (a @ Action::Continuous(_), Some(space)) => floats.extend(super::policy::scale_action(space, a)),
        (Action::Continuous(v), None) => floats.extend_from_slice(v),
    }
}

/// Rows of a flat row-major buffer as a [rows, width] tensor.
pub fn matrix(data: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
    let width = data.len() / rows.max(1);
    Tensor::<2>::from_data(TensorData::new(data, [rows, width]), device)
}

/// A vector as a [len] tensor.
pub fn vector(data: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = data.len();
    Tensor::<1>::from_data(TensorData::new(data, [n]), device)
}

/// The values of a 1-D tensor, read back from its device.
pub fn floats(t: Tensor<1>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

/// The integers of a tensor, read back from its device.
pub fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default()
}

/// The first value of a tensor (a loss), NaN if it has none.
pub fn scalar(t: Tensor<1>) -> f64 {
    floats(t).first().copied().unwrap_or(f32::NAN) as f64
}

/// Standardizes `values` in place by the mean and standard deviation of their first `by`
/// entries: all of them, or a reference part (a learner's own rows among others).
pub fn standardize(values: &mut [f32], by: usize) {
    if values.is_empty() {
        return;
    }
    let reference = &values[..by.clamp(1, values.len())];
    let n = reference.len() as f32;
    let mean = reference.iter().sum::<f32>() / n;
    let std = (reference.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
    values.iter_mut().for_each(|v| *v = (*v - mean) / (std + 1e-8));
}
