//! Sampling-based model-predictive control (Levine & Finn part 5): search over action
//! sequences, execute the first action, plan again at the next step. CEM refits a
//! distribution to the best candidates; MPPI averages every candidate, weighted by
//! exp(return / λ). `Planner` scores candidates on the true simulator, each rolled out from
//! a copy of the current world with the scenario's own reward, which gives any scenario an
//! expert, including those users write without one.

use super::env::Env;
use super::policy::Policy;
use super::scenario_env::ScenarioEnv;
use super::space::{Action, Space};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// How a search iteration turns scored candidates into the next plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Cross-entropy method: the plan becomes the mean and spread of the `elites` best.
    Cem,
    /// Model-predictive path integral: the plan's mean becomes the average of all
    /// candidates, weighted by exp((return − best) / (temperature · spread of returns)).
    #[default]
    Mppi,
}

/// A sampling planner's settings (a scenario's `expert: Planner(...)` or `planner: Planner(...)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default, rename = "Planner")]
pub struct PlannerConfig {
    /// `cem` or `mppi`.
    pub method: Method,
    /// Steps each candidate sequence looks ahead.
    pub horizon: usize,
    /// Candidate sequences per iteration (the current plan itself is always one of them).
    pub samples: usize,
    /// Search iterations per executed action.
    pub iterations: usize,
    /// CEM: candidates the distribution is refitted to.
    pub elites: usize,
    /// MPPI: temperature of the weights, in units of the returns' standard deviation.
    pub temperature: f32,
    /// Standard deviation of the sampling noise at each step's start, as a fraction of each
    /// action component's half range (continuous actions).
    pub noise: f32,
    /// CEM: the spread never shrinks below this fraction of the half range.
    pub min_noise: f32,
    /// Discount of the planned return.
    pub gamma: f32,
    /// Seed of the sampling noise (each episode's seed is mixed in).
    pub seed: u64,
}

impl Default for PlannerConfig {
    fn default() -> PlannerConfig {
        PlannerConfig {
            method: Method::Mppi,
            horizon: 30,
            samples: 32,
            iterations: 2,
            elites: 6,
            temperature: 0.5,
            noise: 0.5,
            min_noise: 0.05,
            gamma: 1.0,
            seed: 0,
        }
    }
}

/// The distribution of one action component at one step of the plan.
#[derive(Debug, Clone, PartialEq)]
enum Component {
    /// A continuous component, in units of its half range around the range's middle.
    Gaussian { mean: f32, std: f32 },
    /// A discrete choice.
    Categorical { probs: Vec<f32> },
}

/// One search iteration as it went: what a view draws.
#[derive(Debug, Clone, Default)]
pub struct Searched {
    /// The candidates, each as the actions of its steps.
    pub candidates: Vec<Vec<Action>>,
    pub returns: Vec<f32>,
    /// Indices of the best candidates (CEM's elites; MPPI's heaviest weights).
    pub elites: Vec<usize>,
    /// The plan the iteration settled on, step by step.
    pub plan: Vec<Action>,
}

/// CEM or MPPI over action sequences: samples candidates from the plan's distribution,
/// has them scored, refits, and hands out the plan's first action.
#[derive(Debug, Clone)]
pub struct SequenceSearch {
    pub config: PlannerConfig,
    space: Space,
    /// [horizon][component].
    plan: Vec<Vec<Component>>,
    rng: ChaCha8Rng,
    /// The last iteration of the last search.
    pub last: Searched,
}

impl SequenceSearch {
    pub fn new(config: PlannerConfig, space: Space) -> SequenceSearch {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut search = SequenceSearch { config, space, plan: Vec::new(), rng, last: Searched::default() };
        search.reset(0);
        search
    }

    /// Forgets the plan and reseeds the noise, for the episode with this seed.
    pub fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.plan = (0..self.config.horizon.max(1)).map(|_| self.fresh_step()).collect();
        self.last = Searched::default();
    }

    /// A step of the plan knowing nothing: centred Gaussians, uniform choices.
    fn fresh_step(&self) -> Vec<Component> {
        let gaussian = Component::Gaussian { mean: 0.0, std: self.config.noise };
        let categorical = |n: usize| Component::Categorical { probs: vec![1.0 / n as f32; n] };
        match &self.space {
            Space::Box { low, .. } => vec![gaussian; low.len()],
            Space::Discrete { n } => vec![categorical(*n)],
            Space::MultiDiscrete { nvec } => nvec.iter().map(|&n| categorical(n)).collect(),
        }
    }

    /// Chooses the next action: `iterations` rounds of sampling, scoring with `score` (the
    /// return of each candidate sequence from the current state) and refitting. The plan then
    /// moves one step on, so the next search starts from its remainder (a warm start).
    pub fn next_action(&mut self, score: &mut dyn FnMut(&[Vec<Action>]) -> Vec<f32>) -> Action {
        for _ in 0..self.config.iterations.max(1) {
            let coded = self.sample();
            let candidates: Vec<Vec<Action>> = coded.iter().map(|c| self.decode(c)).collect();
            let returns = score(&candidates);
            let elites = self.refit(&coded, &returns);
            let plan = self.decode(&self.mode());
            self.last = Searched { candidates, returns, elites, plan };
        }
        let action = self.last.plan[0].clone();
        self.shift();
        action
    }

    /// Moves the plan one step on (its first step was taken): the next search starts from
    /// the remainder and a fresh last step.
    pub fn shift(&mut self) {
        self.plan.remove(0);
        self.plan.push(self.fresh_step());
        // Each new search explores afresh around the kept means.
        for step in &mut self.plan {
            for c in step {
                if let Component::Gaussian { std, .. } = c {
                    *std = self.config.noise;
                }
            }
        }
    }

    /// The plan's next action without searching: what it intends to do from here.
    pub fn peek(&self) -> Action {
        self.decode(&self.mode()).swap_remove(0)
    }

    /// Candidates as codes per (step, component): Gaussian values in half-range units
    /// (clipped to ±1), choice indices. The first candidate is the plan's mode.
    fn sample(&mut self) -> Vec<Vec<f32>> {
        let mut out = vec![self.mode()];
        for _ in 1..self.config.samples.max(1) {
            let mut code = Vec::new();
            for step in &self.plan {
                for c in step {
                    code.push(match c {
                        Component::Gaussian { mean, std } => {
                            let z: f32 = self.rng.sample(StandardNormal);
                            (mean + std * z).clamp(-1.0, 1.0)
                        }
                        Component::Categorical { probs } => categorical(probs, self.rng.random()) as f32,
                    });
                }
            }
            out.push(code);
        }
        out
    }

    /// The plan's most likely sequence, coded.
    fn mode(&self) -> Vec<f32> {
        let mode = |c: &Component| match c {
            Component::Gaussian { mean, .. } => *mean,
            Component::Categorical { probs } => argmax(probs) as f32,
        };
        self.plan.iter().flat_map(|step| step.iter().map(mode)).collect()
    }

    /// Refits the plan to the scored candidates; returns the best candidates' indices.
    fn refit(&mut self, coded: &[Vec<f32>], returns: &[f32]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..coded.len()).collect();
        // A NaN return (a scorer's failure) ranks last.
        let key = |i: usize| if returns[i].is_nan() { f32::NEG_INFINITY } else { returns[i] };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
        let weights = match self.config.method {
            Method::Cem => {
                let k = self.config.elites.clamp(1, coded.len());
                let mut w = vec![0.0; coded.len()];
                order[..k].iter().for_each(|&i| w[i] = 1.0 / k as f32);
                w
            }
            Method::Mppi => mppi_weights(&order.iter().map(|&i| key(i)).collect::<Vec<_>>(), self.config.temperature)
                .into_iter()
                .zip(&order)
                .fold(vec![0.0; coded.len()], |mut w, (x, &i)| {
                    w[i] = x;
                    w
                }),
        };
        let refit_std = self.config.method == Method::Cem;
        let mut k = 0;
        for step in &mut self.plan {
            for c in step.iter_mut() {
                let column = coded.iter().map(|code| code[k]);
                match c {
                    Component::Gaussian { mean, std } => {
                        let m: f32 = column.clone().zip(&weights).map(|(x, w)| x * w).sum();
                        if refit_std {
                            let var: f32 = column.zip(&weights).map(|(x, w)| w * (x - m).powi(2)).sum();
                            *std = var.sqrt().max(self.config.min_noise);
                        }
                        *mean = m;
                    }
                    Component::Categorical { probs } => {
                        // Smoothed, so no choice becomes impossible.
                        let n = probs.len() as f32;
                        probs.iter_mut().for_each(|p| *p = 0.1 / n);
                        for (x, w) in column.zip(&weights) {
                            probs[x as usize] += 0.9 * w;
                        }
                    }
                }
                k += 1;
            }
        }
        order.truncate(self.config.elites.clamp(1, coded.len()));
        order
    }

    /// The actions of a coded candidate, step by step.
    fn decode(&self, code: &[f32]) -> Vec<Action> {
        let d = self.space.dim();
        code.chunks(d.max(1))
            .map(|step| match &self.space {
                Space::Box { low, high } => Action::Continuous(
                    step.iter().zip(low.iter().zip(high)).map(|(u, (l, h))| l + (u + 1.0) * 0.5 * (h - l)).collect(),
                ),
                Space::Discrete { .. } => Action::Discrete(step[0] as usize),
                Space::MultiDiscrete { .. } => Action::MultiDiscrete(step.iter().map(|&x| x as usize).collect()),
            })
            .collect()
    }
}

/// MPPI's weights of returns sorted best first: exp((R − R_best) / (λ·σ_R)), normalized.
fn mppi_weights(sorted: &[f32], temperature: f32) -> Vec<f32> {
    let best = sorted[0];
    let finite: Vec<f32> = sorted.iter().copied().filter(|r| r.is_finite()).collect();
    let mean = finite.iter().sum::<f32>() / finite.len().max(1) as f32;
    let spread = (finite.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / finite.len().max(1) as f32).sqrt();
    let scale = (temperature * spread).max(1e-6);
    let w: Vec<f32> = sorted.iter().map(|r| if r.is_finite() { ((r - best) / scale).exp() } else { 0.0 }).collect();
    let total: f32 = w.iter().sum();
    if total > 0.0 && total.is_finite() {
        w.into_iter().map(|x| x / total).collect()
    } else {
        // No candidate scored: keep the first (the current plan).
        (0..sorted.len()).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect()
    }
}

fn categorical(probs: &[f32], u: f32) -> usize {
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// A planner on the true simulator: every candidate is rolled out on a copy of the world
/// being planned for, scored by the scenario's reward (discounted by `gamma`), ending where
/// the episode would.
#[derive(Clone)]
pub struct Planner {
    pub config: PlannerConfig,
    /// The search, made for the action space of the first environment planned for.
    pub search: Option<SequenceSearch>,
    seed: u64,
    /// The rollouts' environment, copied from the planned one before each candidate.
    scratch: Option<Box<ScenarioEnv>>,
}

impl Planner {
    pub fn new(config: PlannerConfig) -> Planner {
        Planner { config, search: None, seed: 0, scratch: None }
    }
}

/// The discounted return of `actions` from `env`'s state, rolled out on `scratch`.
pub fn rollout_return(scratch: &mut ScenarioEnv, env: &ScenarioEnv, actions: &[Action], gamma: f32) -> f32 {
    scratch.copy_from(env);
    let (mut total, mut discount) = (0.0, 1.0);
    for action in actions {
        let Ok(step) = scratch.step(action) else { return f32::NAN };
        total += discount * step.reward;
        discount *= gamma;
        if step.done() {
            break;
        }
    }
    total
}

impl Policy for Planner {
    fn act(&mut self, env: &ScenarioEnv, _obs: &[f32]) -> Action {
        let (config, seed) = (&self.config, self.seed);
        let search = self.search.get_or_insert_with(|| {
            let mut search = SequenceSearch::new(config.clone(), env.action_space().clone());
            search.reset(seed);
            search
        });
        let scratch = self.scratch.get_or_insert_with(|| Box::new(env.clone()));
        let gamma = config.gamma;
        search.next_action(&mut |candidates| {
            candidates.iter().map(|actions| rollout_return(scratch, env, actions, gamma)).collect()
        })
    }

    fn reset(&mut self, seed: u64) {
        self.seed = seed;
        // The next episode may be another scenario's: both are rebuilt on its first step.
        (self.search, self.scratch) = (None, None);
    }
}
