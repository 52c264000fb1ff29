//! CVAE action chunking (ACT-style): an encoder reads the condition (recent observations)
//! with the demonstrated chunk and proposes a latent z ~ N(μ, σ²); the decoder rebuilds the
//! chunk from the condition and z. Training minimizes the L1 reconstruction plus β·KL(q ‖
//! N(0, I)), so the latent carries which way the demonstrator went and nothing the condition
//! already says. Acting decodes z = 0, the prior's mean (or a draw from the prior, with
//! `policy.sample_latent`), in one pass, and the encoder is dropped. Shares its trainer,
//! chunking and execution with flow matching and diffusion (`generative`).

use super::generative;
use super::policy::Mlp;
use super::policy::chunk::{ChunkConfig, Denoiser, Method};
use super::registry::Entry;
use burn::prelude::*;

/// The encoder: `[condition, chunk] → [μ, log σ²]`, each of `config.latent` numbers.
pub fn encoder(cond: usize, chunk: usize, config: &ChunkConfig, device: &Device) -> Mlp {
    Mlp::new(cond + chunk, &config.hidden, 2 * config.latent, config.activation, false, device)
}

/// The CVAE objective on a batch: `x` holds rows `[condition, chunk, ε]` (ε standard normal,
/// `latent` wide, for the reparameterization z = μ + σ·ε) and `chunk` the same chunks. The
/// reconstruction is the mean absolute error per action number, the KL term is summed over
/// the latent and averaged over the batch, as in ACT.
pub fn loss(decoder: &Denoiser, encoder: &Mlp, x: Tensor<2>, chunk: Tensor<2>, latent: usize, beta: f64) -> Tensor<1> {
    let [n, width] = x.dims();
    let d = chunk.dims()[1];
    let c = width - d - latent;
    let stats = encoder.forward(x.clone().slice([0..n, 0..c + d]));
    let mu = stats.clone().slice([0..n, 0..latent]);
    // Clamped so an early, wild encoder cannot overflow exp.
    let log_var = stats.slice([0..n, latent..2 * latent]).clamp(-10.0, 10.0);
    let z = mu.clone() + log_var.clone().mul_scalar(0.5).exp() * x.clone().slice([0..n, c + d..width]);
    let rebuilt = decoder.forward(Tensor::cat(vec![x.slice([0..n, 0..c]), z], 1));
    let reconstruction = (rebuilt - chunk).abs().mean();
    reconstruction + kl(mu, log_var).mul_scalar(beta)
}

/// KL(N(μ, σ²) ‖ N(0, I)) summed over the latent, averaged over the rows.
pub fn kl(mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    (log_var.clone().exp() + mu.powf_scalar(2.0) - log_var - 1.0).sum_dim(1).mean().mul_scalar(0.5)
}

fn defaults() -> toml::Table {
    generative::defaults(Method::Cvae)
}

/// The CVAE in the registry.
pub const ENTRY: Entry = generative::entry(
    "cvae",
    "CVAE action chunking (ACT-style): chunks decoded in one pass from recent observations and a latent",
    defaults,
);

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn tensor(rows: Vec<Vec<f32>>) -> Tensor<2> {
        let (n, w) = (rows.len(), rows[0].len());
        Tensor::from_data(TensorData::new(rows.concat(), [n, w]), &Device::flex())
    }

    #[test]
    fn the_kl_term_matches_the_closed_form() {
        // Row 1: μ = (1, 0), log σ² = (0, ln 2): ½[(1 + 1 − 0 − 1) + (2 + 0 − ln 2 − 1)].
        // Row 2: the prior itself, 0.
        let mu = tensor(vec![vec![1.0, 0.0], vec![0.0, 0.0]]);
        let log_var = tensor(vec![vec![0.0, 2f32.ln()], vec![0.0, 0.0]]);
        let row1 = 0.5 * (1.0 + (2.0 - 2f64.ln() - 1.0));
        let got = crate::batch::scalar(kl(mu, log_var));
        assert!((got - row1 / 2.0).abs() < 1e-6, "{got} vs {}", row1 / 2.0);
    }
}
