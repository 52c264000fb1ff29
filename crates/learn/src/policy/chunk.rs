//! Chunked generative policies (flow matching, diffusion, CVAE): conditioned on the last k
//! observations, they draw a chunk of H future actions from noise with a small network (a
//! denoiser, or the CVAE's decoder), execute n of them and draw again (receding horizon), or
//! average overlapping chunks (temporal ensembling). Saved as policy artifacts of kind
//! `flow`, `diffusion` or `cvae`.

use super::{Activation, Mlp, Normalizer, UNet1d, saved, scale_action, stacked, unscale_action};
use crate::artifact::PolicyArtifact;
use crate::diffusion::Schedule;
use crate::run::RunError;
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sim::{Action, Env, ScenarioEnv, Space};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// How a chunk is drawn from noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Rectified flow: integrate a learned velocity from noise (t = 0) to actions (t = 1).
    #[default]
    Flow,
    /// DDPM training (predict the noise), DDIM sampling in a few deterministic steps.
    Diffusion,
    /// A conditional VAE (ACT-style): a decoder maps (observations, latent z) to a chunk in
    /// one pass; an encoder over the demonstrated chunk trains it and is then dropped.
    Cvae,
}

impl Method {
    /// The artifact kind in `policy.json`.
    pub fn kind(self) -> &'static str {
        match self {
            Method::Flow => "flow",
            Method::Diffusion => "diffusion",
            Method::Cvae => "cvae",
        }
    }
}

/// The architecture and execution of a chunked policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkConfig {
    /// Observations the chunk is conditioned on: the latest and the ones before it.
    pub history: usize,
    /// Actions per chunk (H).
    pub horizon: usize,
    /// Actions executed from each chunk before the next is sampled (n ≤ H).
    pub execute: usize,
    /// Sample a chunk every step and average the overlapping chunks' actions for it
    /// (temporal ensembling, older chunks weigh more) instead of executing n.
    pub ensemble: bool,
    /// Candidate chunks drawn at each replanning; the one that best continues the previous
    /// chunk's unexecuted actions is executed (backward coherence, as in bidirectional
    /// decoding), so fresh noise does not switch modes mid-manoeuvre: with `execute = 2` it
    /// lets detour replan often without switching sides. 1 (the default) draws one chunk; on
    /// push_t, fresh chunks do better than coherent ones.
    pub coherence: usize,
    /// The denoiser's network: mlp, or unet (a 1-D convolutional U-Net over the chunk's
    /// steps; flow and diffusion only).
    pub denoiser: DenoiserKind,
    /// Widths of the denoiser MLP's hidden layers (and the CVAE encoder's).
    pub hidden: Vec<usize>,
    /// U-Net: channels per level, finest first; the chunk halves in length at each level down.
    pub channels: Vec<usize>,
    /// Nonlinearity of the denoiser: relu, tanh, gelu or silu.
    pub activation: Activation,
    /// How chunks are drawn: flow (rectified flow) or diffusion (DDPM/DDIM).
    pub method: Method,
    /// Integration (flow) or DDIM (diffusion) steps at inference.
    pub inference_steps: usize,
    /// Noise levels of the diffusion's training chain (T).
    pub diffusion_steps: usize,
    /// What the diffusion denoiser predicts: the clean chunk itself (the default: with an MLP
    /// denoiser it learns detour in the budget where predicting the noise does not) or the
    /// noise (DDPM's ε).
    pub predict: Prediction,
    /// CVAE: dimensions of the latent z.
    pub latent: usize,
    /// CVAE: decode from a z drawn from the prior N(0, I), so chunks differ and show the
    /// modes, instead of from its mean z = 0 (ACT's choice: one chunk per observation).
    pub sample_latent: bool,
}

/// The network that denoises chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenoiserKind {
    /// An MLP over the flattened chunk.
    #[default]
    Mlp,
    /// A 1-D convolutional U-Net over the chunk's time axis, FiLM-conditioned.
    Unet,
}

/// The diffusion denoiser's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The noise ε that was added (DDPM).
    Noise,
    /// The clean chunk x₀.
    #[default]
    Chunk,
}

impl Default for ChunkConfig {
    fn default() -> ChunkConfig {
        ChunkConfig {
            history: 2,
            horizon: 16,
            execute: 8,
            ensemble: false,
            coherence: 1,
            denoiser: DenoiserKind::Mlp,
            hidden: vec![256, 256, 256],
            channels: vec![64, 128],
            activation: Activation::Silu,
            method: Method::Flow,
            inference_steps: 10,
            diffusion_steps: 100,
            predict: Prediction::Chunk,
            latent: 16,
            sample_latent: false,
        }
    }
}

impl ChunkConfig {
    /// Width of the noise one chunk of `chunk` numbers is drawn from: the chunk's own
    /// (flow, diffusion) or the CVAE's latent.
    pub fn noise_dim(&self, chunk: usize) -> usize {
        if self.method == Method::Cvae { self.latent } else { chunk }
    }

    /// Time features the network reads after the noise (none for the CVAE's one pass).
    pub fn time_features(&self) -> usize {
        if self.method == Method::Cvae { 0 } else { TIME_FEATURES }
    }

    /// What no policy can be built from, said in the config's terms.
    pub fn check(&self) -> Result<(), String> {
        if self.horizon == 0 {
            return Err("policy.horizon must be at least 1".into());
        }
        if self.denoiser == DenoiserKind::Unet {
            if self.method == Method::Cvae {
                return Err(
                    "policy.denoiser = \"unet\" denoises chunks; the CVAE decodes a latent (use \"mlp\")".into()
                );
            }
            if self.channels.is_empty() || self.channels.contains(&0) {
                return Err(format!("policy.channels {:?} needs at least one level, none empty", self.channels));
            }
        }
        Ok(())
    }
}

/// Sinusoidal features of a noise level t ∈ [0, 1].
pub const TIME_FEATURES: usize = 16;

/// `[sin(2π·2^k·t), cos(2π·2^k·t)]` for k = 0..8, scaled so each frequency band is distinct.
pub fn time_features(t: f32, out: &mut Vec<f32>) {
    for k in 0..TIME_FEATURES / 2 {
        let angle = std::f32::consts::TAU * (1 << k) as f32 * t / 8.0;
        out.extend([angle.sin(), angle.cos()]);
    }
}

/// The network that turns noise into chunks, an MLP: the denoiser `[condition, noisy chunk,
/// time features] → velocity, noise or chunk` (flow, diffusion), or the CVAE's decoder
/// `[condition, z] → chunk`.
#[derive(Module, Debug)]
pub struct Denoiser {
    mlp: Option<Mlp>,
    unet: Option<UNet1d>,
    /// Width of the condition at the start of each input row.
    #[module(skip)]
    condition: usize,
}

impl Denoiser {
    /// For conditions of `cond` numbers and chunks of `chunk` (= horizon · action dims).
    pub fn new(cond: usize, chunk: usize, config: &ChunkConfig, device: &Device) -> Denoiser {
        let input = cond + config.noise_dim(chunk) + config.time_features();
        let (mlp, unet) = match config.denoiser {
            DenoiserKind::Mlp => (Some(Mlp::new(input, &config.hidden, chunk, config.activation, false, device)), None),
            DenoiserKind::Unet => {
                let (horizon, extra) = (config.horizon.max(1), cond + config.time_features());
                let unet = UNet1d::new(extra, horizon, chunk / horizon, &config.channels, config.activation, device);
                (None, Some(unet))
            }
        };
        Denoiser { mlp, unet, condition: cond }
    }

    /// `x`: [batch, cond + noise + time features] → [batch, chunk].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match (&self.mlp, &self.unet) {
            (Some(mlp), _) => mlp.forward(x),
            (None, Some(unet)) => unet.forward(x, self.condition),
            (None, None) => unreachable!("a denoiser is built with one network"),
        }
    }

    /// One evaluation on rows built on the CPU: `rows` of `width` → rows of `out`.
    pub fn eval(&self, rows: Vec<f32>, n: usize, device: &Device) -> Vec<f32> {
        let width = rows.len() / n.max(1);
        let x = Tensor::<2>::from_data(TensorData::new(rows, [n, width]), device);
        self.forward(x).into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
    }
}

/// Draws chunks: `n` conditions (rows of `cond`) → `n` chunks in [-1, 1] (rows of `chunk`),
/// from standard normal `noise` (rows of `noise_dim`), with the method's sampler.
pub fn sample(
    net: &Denoiser,
    config: &ChunkConfig,
    schedule: &Schedule,
    cond: &[f32],
    noise: Vec<f32>,
    n: usize,
    device: &Device,
) -> Vec<f32> {
    let evaluate = |x: &[f32], t: Option<f32>| {
        let (c, d) = (cond.len() / n.max(1), x.len() / n.max(1));
        let mut rows = Vec::with_capacity(n * (c + d + TIME_FEATURES));
        for i in 0..n {
            rows.extend_from_slice(&cond[i * c..(i + 1) * c]);
            rows.extend_from_slice(&x[i * d..(i + 1) * d]);
            if let Some(t) = t {
                time_features(t, &mut rows);
            }
        }
        net.eval(rows, n, device)
    };
    let denoise = |x: &[f32], t: f32| evaluate(x, Some(t));
    let steps = config.inference_steps.max(1);
    let chunk = match config.method {
        Method::Flow => crate::flow::integrate(noise, steps, denoise),
        Method::Diffusion => schedule.ddim(noise, steps, config.predict, denoise),
        Method::Cvae => evaluate(&noise, None),
    };
    chunk.into_iter().map(|a| a.clamp(-1.0, 1.0)).collect()
}

/// A trained chunked policy acting in an episode.
#[derive(Debug, Clone)]
pub struct ChunkPolicy {
    pub net: Denoiser,
    pub config: ChunkConfig,
    pub normalizer: Normalizer,
    pub space: Space,
    pub device: Device,
    schedule: Schedule,
    /// The episode's recent observations, newest last.
    recent: VecDeque<Vec<f32>>,
    /// Actions still to execute from the last chunk (scaled to [-1, 1]).
    queue: VecDeque<Vec<f32>>,
    /// The last chunk's actions past the executed ones: what the next chunk should continue.
    tail: Vec<Vec<f32>>,
    /// Temporal ensembling: the chunks sampled so far with the step each began at.
    chunks: VecDeque<(usize, Vec<Vec<f32>>)>,
    step: usize,
    rng: ChaCha8Rng,
}

impl ChunkPolicy {
    pub fn new(
        net: Denoiser,
        config: ChunkConfig,
        normalizer: Normalizer,
        space: Space,
        device: Device,
    ) -> ChunkPolicy {
        let schedule = Schedule::cosine(config.diffusion_steps);
        ChunkPolicy {
            net,
            config,
            normalizer,
            space,
            device,
            schedule,
            recent: VecDeque::new(),
            queue: VecDeque::new(),
            tail: Vec::new(),
            chunks: VecDeque::new(),
            step: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    fn action_dim(&self) -> usize {
        self.space.dim()
    }

    /// The condition for the latest observation (the ones before it from the episode).
    fn condition(&self, obs: &[f32]) -> Vec<f32> {
        stacked(&self.normalizer, self.config.history, self.recent.iter().map(Vec::as_slice), obs)
    }

    /// Samples `n` chunks at `obs` (each a list of H scaled actions).
    pub fn sample_chunks(&mut self, obs: &[f32], n: usize) -> Vec<Vec<Vec<f32>>> {
        let cond: Vec<f32> = (0..n).flat_map(|_| self.condition(obs)).collect();
        let d = self.config.horizon * self.action_dim();
        let width = n * self.config.noise_dim(d);
        let noise: Vec<f32> = if self.config.method == Method::Cvae && !self.config.sample_latent {
            vec![0.0; width]
        } else {
            (0..width).map(|_| StandardNormal.sample(&mut self.rng)).collect()
        };
        let flat = sample(&self.net, &self.config, &self.schedule, &cond, noise, n, &self.device);
        flat.chunks(d.max(1)).map(|c| c.chunks(self.action_dim().max(1)).map(<[f32]>::to_vec).collect()).collect()
    }

    /// A fresh chunk at `obs`: of `coherence` candidates, the one that best continues the
    /// previous chunk's unexecuted tail.
    fn coherent_chunk(&mut self, obs: &[f32]) -> Vec<Vec<f32>> {
        let candidates = if self.tail.is_empty() { 1 } else { self.config.coherence.max(1) };
        most_coherent(self.sample_chunks(obs, candidates), &self.tail)
    }

    /// The next scaled action: from the queue, or the ensemble of overlapping chunks.
    fn next(&mut self, obs: &[f32]) -> Vec<f32> {
        if self.config.ensemble {
            let chunk = self.sample_chunks(obs, 1).remove(0);
            self.chunks.push_back((self.step, chunk));
            let step = self.step;
            self.chunks.retain(|(start, c)| step - start < c.len());
            // ACT's weights: exp(−m·i), i = 0 for the oldest chunk.
            let (mut sum, mut total) = (vec![0.0; self.action_dim()], 0.0);
            for (i, (start, c)) in self.chunks.iter().enumerate() {
                let w = (-0.1 * i as f32).exp();
                sum.iter_mut().zip(&c[step - start]).for_each(|(s, a)| *s += w * a);
                total += w;
            }
            return sum.into_iter().map(|s| s / total).collect();
        }
        if self.queue.is_empty() {
            let mut chunk = self.coherent_chunk(obs);
            let execute = self.config.execute.clamp(1, chunk.len().max(1));
            self.tail = chunk.split_off(execute.min(chunk.len()));
            self.queue.extend(chunk);
        }
        self.queue.pop_front().unwrap_or_else(|| vec![0.0; self.action_dim()])
    }

    pub fn act(&mut self, obs: &[f32]) -> Action {
        let scaled = self.next(obs);
        super::remember(&mut self.recent, self.config.history, obs);
        self.step += 1;
        unscale_action(&self.space, Action::Continuous(scaled))
    }

    pub fn reset(&mut self, seed: u64) {
        self.recent.clear();
        self.queue.clear();
        self.tail.clear();
        self.chunks.clear();
        self.step = 0;
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0F10_57EE_D5EE_D000);
    }
}

impl sim::Policy for ChunkPolicy {
    fn act(&mut self, _env: &ScenarioEnv, obs: &[f32]) -> Action {
        ChunkPolicy::act(self, obs)
    }

    fn reset(&mut self, seed: u64) {
        ChunkPolicy::reset(self, seed);
    }
}

/// The candidate whose first actions lie closest (squared distance) to `tail`, the actions the
/// previous chunk planned for the same steps.
fn most_coherent(candidates: Vec<Vec<Vec<f32>>>, tail: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let gap = |chunk: &Vec<Vec<f32>>| -> f32 {
        chunk.iter().zip(tail).flat_map(|(a, b)| a.iter().zip(b)).map(|(a, b)| (a - b).powi(2)).sum()
    };
    candidates.into_iter().min_by(|a, b| gap(a).total_cmp(&gap(b))).unwrap_or_default()
}

/// The chunk of scaled actions demonstrated from step `t` of `actions`: H of them, the last
/// one repeated past the episode's end.
pub fn demonstrated_chunk(actions: &[&Action], space: &Space, t: usize, horizon: usize) -> Vec<f32> {
    (0..horizon).flat_map(|j| scale_action(space, actions[(t + j).min(actions.len() - 1)])).collect()
}

/// What a saved chunked policy needs to be rebuilt and checked against a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkMeta {
    /// The artifact kind: `flow`, `diffusion` or `cvae`.
    pub kind: String,
    pub scenario: String,
    pub scenario_hash: String,
    pub obs_dim: usize,
    pub action_space: Space,
    pub policy: ChunkConfig,
    pub normalizer: Normalizer,
}

impl ChunkPolicy {
    pub fn meta(&self, env: &ScenarioEnv) -> ChunkMeta {
        ChunkMeta {
            kind: self.config.method.kind().into(),
            scenario: env.scenario().name.clone(),
            scenario_hash: env.scenario().source_hash.clone(),
            obs_dim: env.observation_space().dim(),
            action_space: env.action_space().clone(),
            policy: self.config.clone(),
            normalizer: self.normalizer.clone(),
        }
    }
}

/// Loads a run's chunked policy (kind `flow`, `diffusion` or `cvae`) and checks it fits `env`.
pub fn load_chunked(dir: &Path, env: &ScenarioEnv) -> Result<ChunkPolicy, RunError> {
    let (path, meta): (_, ChunkMeta) = saved::read_meta(dir)?;
    saved::check_fits(&path, &meta.scenario, (meta.obs_dim, &meta.action_space), &meta.normalizer, env)?;
    let (obs_dim, space) = (env.observation_space().dim(), env.action_space());
    let device = Device::flex();
    let config = meta.policy;
    let _init = crate::device::hold_init(); // random weights, replaced by the saved ones
    let net = Denoiser::new(obs_dim * config.history.max(1), config.horizon * space.dim(), &config, &device);
    let net = saved::load_weights(dir, net)?;
    Ok(ChunkPolicy::new(net, config, meta.normalizer, space.clone(), device))
}

/// The `flow`, `diffusion` and `cvae` entries of [`crate::artifact::POLICY_KINDS`].
pub fn load(dir: &Path, env: &ScenarioEnv) -> Result<Box<dyn PolicyArtifact>, RunError> {
    Ok(Box::new(load_chunked(dir, env)?))
}

impl PolicyArtifact for ChunkPolicy {
    fn kind(&self) -> &'static str {
        self.config.method.kind()
    }

    fn act_obs(&mut self, obs: &[f32]) -> Action {
        self.act(obs)
    }

    /// Chunks are always drawn from noise; the noise is seeded by `reset`, so an episode
    /// is reproducible either way.
    fn set_sampling(&mut self, _sampling: bool) {}

    fn sampled_chunks(&self, obs: &[f32], n: usize) -> Option<Vec<Vec<Action>>> {
        let chunks = self.clone().sample_chunks(obs, n);
        let unscaled = |chunk: Vec<Vec<f32>>| {
            chunk.into_iter().map(|a| unscale_action(&self.space, Action::Continuous(a))).collect()
        };
        Some(chunks.into_iter().map(unscaled).collect())
    }

    /// A CVAE decoding from the prior's mean draws the same chunk every time.
    fn stochastic(&self) -> bool {
        self.config.method != Method::Cvae || self.config.sample_latent
    }

    fn save(&self, dir: &Path, env: &ScenarioEnv) -> Result<Vec<String>, RunError> {
        saved::save_files(dir, &self.meta(env), &self.net)
    }

    /// `RUN/export.safetensors`: the denoiser's weights (`mlp.layers.i`), the description as
    /// metadata. Sampling: x from N(0, I); for k in 0..steps, t = k / steps, x += v(cond, x,
    /// features(t)) / steps (flow), with the features of `time_features`; the CVAE's chunk is
    /// one pass, decoder(cond, z), with z = 0 unless `sample_latent`.
    fn export(&self, dir: &Path, env: &ScenarioEnv) -> Result<PathBuf, RunError> {
        saved::export_file(dir, &self.meta(env), &self.net)
    }

    fn boxed(&self) -> Box<dyn PolicyArtifact> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::most_coherent;

    #[test]
    fn the_candidate_continuing_the_tail_is_chosen() {
        let left = vec![vec![-1.0, 0.0], vec![-1.0, 0.0], vec![-0.5, 0.0]];
        let right = vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![0.5, 0.0]];
        let tail = vec![vec![0.8, 0.1], vec![0.9, 0.0]];
        assert_eq!(most_coherent(vec![left.clone(), right.clone()], &tail), right);
        assert_eq!(most_coherent(vec![right, left.clone()], &[vec![-0.7, 0.0]]), left);
        // No tail yet (an episode's first chunk): the first candidate.
        assert_eq!(most_coherent(vec![left.clone()], &[]), left);
    }
}
