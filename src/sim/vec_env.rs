//! `VecEnv`: N copies of an environment stepped in parallel, with auto-reset and per-env seeds.
//!
//! Episode `k` of environment `i` always starts from seed `base + k·N + i`, so a VecEnv
//! gives exactly the trajectories that stepping the same environments one by one gives.
//!
//! A physics step of a small task takes a few microseconds, less than waking a sleeping
//! thread. So the environments are split into one shard per core; each extra shard has its
//! own worker thread that spins briefly for the next step before it parks, and the caller
//! steps the first shard itself.

use super::env::Env;
use super::scenario_env::ScenarioEnv;
use super::space::{Action, ActionMismatch};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One environment's result of a vectorized step.
#[derive(Debug, Clone, PartialEq)]
pub struct VecStep {
    /// Observation to act on next: the first of a new episode when this one ended.
    pub obs: Vec<f32>,
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    pub success: bool,
    /// The last observation of the episode that just ended (for bootstrapping on truncation).
    pub final_obs: Option<Vec<f32>>,
}

/// How long an idle worker spins for the next step before it parks.
const SPIN: Duration = Duration::from_micros(300);

/// A contiguous block of environments owned by one thread during a step.
struct Shard {
    /// Index of the first environment in the whole VecEnv.
    first: usize,
    envs: Vec<ScenarioEnv>,
    /// Episodes started so far, per environment.
    episodes: Vec<u64>,
    actions: Vec<Action>,
    results: Vec<Result<VecStep, ActionMismatch>>,
}

impl Shard {
    fn step(&mut self, total: u64, base_seed: u64) {
        let jobs = self.envs.iter_mut().zip(&mut self.episodes).zip(&self.actions).enumerate();
        self.results = jobs
            .map(|(k, ((env, episodes), action))| {
                let step = env.step(action)?;
                let (obs, final_obs) = if step.done() {
                    let seed = episode_seed(base_seed, total, self.first + k, *episodes);
                    *episodes += 1;
                    (env.reset(seed), Some(step.obs))
                } else {
                    (step.obs, None)
                };
                Ok(VecStep {
                    obs,
                    reward: step.reward,
                    terminated: step.terminated,
                    truncated: step.truncated,
                    success: step.success,
                    final_obs,
                })
            })
            .collect();
    }
}

/// First environment of shard `s` of `shards` (equal shares of `n`).
fn shard_start(s: usize, shards: usize, n: usize) -> usize {
    s * n / shards
}

fn episode_seed(base: u64, total: u64, i: usize, k: u64) -> u64 {
    base.wrapping_add(k.wrapping_mul(total)).wrapping_add(i as u64)
}

/// State shared between the caller and the workers.
struct Shared {
    shards: Vec<Mutex<Shard>>,
    /// Bumped once per step; workers step their shard when it changes.
    generation: AtomicU64,
    /// Workers that finished the current generation.
    finished: AtomicUsize,
    stop: AtomicBool,
    total: u64,
    base_seed: u64,
}

impl Shared {
    fn shard(&self, s: usize) -> MutexGuard<'_, Shard> {
        // A worker that panicked leaves its shard poisoned; the data is still whole.
        self.shards[s].lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct VecEnv {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl VecEnv {
    /// `n` copies of `env`, split over the machine's cores; nothing runs until `reset`.
    pub fn new(env: ScenarioEnv, n: usize, base_seed: u64) -> VecEnv {
        let n = n.max(1);
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let shards = cores.min(n);
        let shards: Vec<Mutex<Shard>> = (0..shards)
            .map(|s| {
                let (first, end) = (shard_start(s, shards, n), shard_start(s + 1, shards, n));
                // One fork per shard: environments of one thread share their scenario and
                // template (better cache use), threads share nothing.
                let shard_env = env.fork();
                Mutex::new(Shard {
                    first,
                    envs: (first..end).map(|_| shard_env.clone()).collect(),
                    episodes: vec![0; end - first],
                    actions: Vec::new(),
                    results: Vec::new(),
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            shards,
            generation: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            total: n as u64,
            base_seed,
        });
        let workers = (1..shared.shards.len())
            .map(|s| {
                let shared = shared.clone();
                std::thread::spawn(move || work(&shared, s))
            })
            .collect();
        VecEnv { shared, workers }
    }

    pub fn len(&self) -> usize {
        self.shared.total as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seed of episode `k` of environment `i`.
    pub fn episode_seed(&self, i: usize, k: u64) -> u64 {
        episode_seed(self.shared.base_seed, self.shared.total, i, k)
    }

    /// Starts the first episode of every environment.
    pub fn reset(&mut self) -> Vec<Vec<f32>> {
        let mut all = Vec::with_capacity(self.len());
        for s in 0..self.shared.shards.len() {
            let mut shard = self.shared.shard(s);
            let first = shard.first;
            let Shard { envs, episodes, .. } = &mut *shard;
            for (k, (env, episodes)) in envs.iter_mut().zip(episodes.iter_mut()).enumerate() {
                *episodes = 1;
                all.push(env.reset(self.episode_seed(first + k, 0)));
            }
        }
        all
    }

    /// Steps every environment with its action; finished episodes restart at once.
    pub fn step(&mut self, actions: &[Action]) -> Result<Vec<VecStep>, ActionMismatch> {
        assert_eq!(actions.len(), self.len(), "one action per environment");
        let shared = &*self.shared;
        for s in 0..shared.shards.len() {
            let mut shard = shared.shard(s);
            let range = shard.first..shard.first + shard.envs.len();
            shard.actions.clear();
            shard.actions.extend_from_slice(&actions[range]);
        }
        shared.finished.store(0, Ordering::Relaxed);
        shared.generation.fetch_add(1, Ordering::Release);
        self.workers.iter().for_each(|w| w.thread().unpark());
        shared.shard(0).step(shared.total, shared.base_seed);
        wait_until(|| shared.finished.load(Ordering::Acquire) == self.workers.len());
        let mut out = Vec::with_capacity(self.len());
        for s in 0..shared.shards.len() {
            out.extend(std::mem::take(&mut shared.shard(s).results));
        }
        out.into_iter().collect()
    }
}

/// Spins on `done`, yielding the core after a while.
fn wait_until(done: impl Fn() -> bool) {
    let start = Instant::now();
    for spins in 0u64.. {
        if done() {
            return;
        }
        // Reading the clock costs more than a spin: look at it now and then.
        if spins % 64 == 0 && start.elapsed() > SPIN {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// A worker's loop: step shard `s` each time the generation changes.
fn work(shared: &Shared, s: usize) {
    let mut seen = 0;
    loop {
        let start = Instant::now();
        for spins in 0u64.. {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let generation = shared.generation.load(Ordering::Acquire);
            if generation != seen {
                seen = generation;
                break;
            }
            if spins % 64 == 0 && start.elapsed() > SPIN {
                std::thread::park_timeout(Duration::from_millis(5));
            } else {
                std::hint::spin_loop();
            }
        }
        shared.shard(s).step(shared.total, shared.base_seed);
        shared.finished.fetch_add(1, Ordering::Release);
    }
}

impl Drop for VecEnv {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for worker in self.workers.drain(..) {
            worker.thread().unpark();
            let _ = worker.join();
        }
    }
}
