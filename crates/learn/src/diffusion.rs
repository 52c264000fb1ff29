//! Diffusion for action chunks (DDPM training, DDIM sampling): a chunk x₀ is noised to
//! x_k = √ᾱ_k·x₀ + √(1 − ᾱ_k)·ε over a cosine schedule of T levels and the denoiser learns to
//! predict the chunk x₀ (or DDPM's ε) from (x_k, k, observations); acting runs DDIM's
//! deterministic update from fresh noise in a few of those levels. Shares its trainer with
//! flow matching (`generative`).

use super::generative;
use super::policy::chunk::{Method, Prediction};
use super::registry::Entry;

/// The noise schedule: ᾱ_k for the levels k = 0..T.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub alpha_bar: Vec<f32>,
}

impl Schedule {
    /// Nichol & Dhariwal's cosine schedule of `levels` steps (β capped at 0.999).
    pub fn cosine(levels: usize) -> Schedule {
        let s = 0.008f64;
        let f = |k: f64| (((k / levels.max(1) as f64) + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2).cos().powi(2);
        let mut alpha_bar = Vec::with_capacity(levels);
        let mut product = 1.0f64;
        for k in 0..levels.max(1) {
            let beta = (1.0 - f(k as f64 + 1.0) / f(k as f64)).min(0.999);
            product *= 1.0 - beta;
            alpha_bar.push(product as f32);
        }
        Schedule { alpha_bar }
    }

    pub fn levels(&self) -> usize {
        self.alpha_bar.len()
    }

    /// The denoiser's time input for level `k`: (k + 1) / T.
    pub fn time(&self, k: usize) -> f32 {
        (k + 1) as f32 / self.levels() as f32
    }

    /// The training input and target for chunk `x0`, noise `eps` at level `k`: (x_k, ε or x₀).
    pub fn training_pair(&self, x0: &[f32], eps: &[f32], k: usize, predict: Prediction) -> (Vec<f32>, Vec<f32>) {
        let ab = self.alpha_bar[k];
        let xk = x0.iter().zip(eps).map(|(x, e)| ab.sqrt() * x + (1.0 - ab).sqrt() * e).collect();
        let target = match predict {
            Prediction::Noise => eps.to_vec(),
            Prediction::Chunk => x0.to_vec(),
        };
        (xk, target)
    }

    /// DDIM (η = 0) from `noise` at the last level down to a chunk, over `steps` evenly spaced
    /// levels; `denoise(x, t)` is the denoiser's estimate of the noise or of the chunk. The chunk estimate is clipped to
    /// [-1, 1] at every step, as the actions are, and the noise re-derived from the clipped
    /// estimate, so a poor estimate cannot feed on itself (x only shrinks towards the chunk).
    pub fn ddim(
        &self,
        noise: Vec<f32>,
        steps: usize,
        predict: Prediction,
        denoise: impl Fn(&[f32], f32) -> Vec<f32>,
    ) -> Vec<f32> {
        let last = self.levels() - 1;
        let steps = steps.clamp(1, self.levels());
        let levels: Vec<usize> = (0..steps).map(|i| last - i * last / steps.max(1)).collect();
        let mut x = noise;
        for (i, &k) in levels.iter().enumerate() {
            let (ab, ab_prev) = (self.alpha_bar[k], levels.get(i + 1).map_or(1.0, |&p| self.alpha_bar[p]));
            let out = denoise(&x, self.time(k));
            x = x
                .iter()
                .zip(&out)
                .map(|(x, out)| {
                    let x0 = match predict {
                        Prediction::Noise => (x - (1.0 - ab).sqrt() * out) / ab.sqrt(),
                        Prediction::Chunk => *out,
                    }
                    .clamp(-1.0, 1.0);
                    let e = (x - ab.sqrt() * x0) / (1.0 - ab).sqrt();
                    ab_prev.sqrt() * x0 + (1.0 - ab_prev).sqrt() * e
                })
                .collect();
        }
        x
    }
}

fn defaults() -> toml::Table {
    generative::defaults(Method::Diffusion)
}

/// Diffusion in the registry.
pub const ENTRY: Entry = generative::entry(
    "diffusion",
    "Diffusion policy (DDPM training, DDIM sampling): action chunks denoised from noise, conditioned on recent observations",
    defaults,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cosine_schedule_falls_from_one_to_almost_pure_noise() {
        let s = Schedule::cosine(100);
        assert!(s.alpha_bar[0] > 0.999 && s.alpha_bar[99] < 1e-3, "{} {}", s.alpha_bar[0], s.alpha_bar[99]);
        assert!(s.alpha_bar.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn ddim_with_the_true_noise_recovers_the_chunk() {
        // x_k built from a known chunk and noise; a denoiser that returns that noise takes
        // DDIM back to the chunk.
        let s = Schedule::cosine(50);
        let (x0, eps) = (vec![0.5, -0.25, 0.75], vec![0.3, -1.2, 0.8]);
        let (xk, _) = s.training_pair(&x0, &eps, 49, Prediction::Noise);
        let end = s.ddim(xk.clone(), 10, Prediction::Noise, |_, _| eps.clone());
        assert!(end.iter().zip(&x0).all(|(a, b)| (a - b).abs() < 1e-4), "{end:?}");
        // A denoiser that returns the chunk itself does too.
        let end = s.ddim(xk, 10, Prediction::Chunk, |_, _| x0.clone());
        assert!(end.iter().zip(&x0).all(|(a, b)| (a - b).abs() < 1e-4), "{end:?}");
    }
}
