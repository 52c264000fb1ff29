//! Flow matching (rectified flow) for action chunks: a straight path from noise x₀ to a
//! demonstrated chunk x₁, x_t = (1 − t)·x₀ + t·x₁, whose velocity x₁ − x₀ the denoiser learns
//! to predict from (x_t, t, observations); acting integrates that velocity from fresh noise in
//! a few Euler steps. Shares its trainer with diffusion (`generative`).

use super::generative;
use super::policy::chunk::Method;
use super::registry::Entry;

/// The training input and target for chunk `x1`, noise `x0` and time `t`: (x_t, x₁ − x₀).
pub fn training_pair(x1: &[f32], x0: &[f32], t: f32) -> (Vec<f32>, Vec<f32>) {
    let xt = x1.iter().zip(x0).map(|(a, z)| (1.0 - t) * z + t * a).collect();
    let v = x1.iter().zip(x0).map(|(a, z)| a - z).collect();
    (xt, v)
}

/// Euler integration of the learned velocity `velocity(x, t)` from `noise` at t = 0 to t = 1.
pub fn integrate(noise: Vec<f32>, steps: usize, velocity: impl Fn(&[f32], f32) -> Vec<f32>) -> Vec<f32> {
    let dt = 1.0 / steps.max(1) as f32;
    let mut x = noise;
    for k in 0..steps.max(1) {
        let v = velocity(&x, k as f32 * dt);
        x.iter_mut().zip(v).for_each(|(x, v)| *x += dt * v);
    }
    x
}

fn defaults() -> toml::Table {
    generative::defaults(Method::Flow)
}

/// Flow matching in the registry.
pub const ENTRY: Entry = generative::entry(
    "flow",
    "Flow matching (rectified flow): action chunks integrated from noise, conditioned on recent observations",
    defaults,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_straight_and_its_velocity_carries_noise_to_the_chunk() {
        let (x1, x0) = ([1.0, -0.5], [0.2, 0.4]);
        let (xt, v) = training_pair(&x1, &x0, 0.25);
        assert_eq!(v, vec![0.8, -0.9]);
        assert!((xt[0] - 0.4).abs() < 1e-6 && (xt[1] - 0.175).abs() < 1e-6, "{xt:?}");
        // The exact velocity integrates to the chunk in any number of Euler steps.
        let end = integrate(x0.to_vec(), 3, |_, _| v.clone());
        assert!(end.iter().zip(x1).all(|(a, b)| (a - b).abs() < 1e-6), "{end:?}");
    }
}
