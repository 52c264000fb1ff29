//! `VecEnv`: N copies of an environment stepped in parallel, with auto-reset and per-env seeds.
//!
//! Episode `k` of environment `i` always starts from seed `base + k·N + i`, so a VecEnv
//! gives exactly the trajectories that stepping the same environments one by one gives.
//!
//! A physics step of a small task takes a few microseconds, less than waking a sleeping
//! thread. So the environments are split into one shard per core; each extra shard has its
//! own worker thread that spins briefly for the next step before it parks, and the caller
//! steps the first shard itself. Cores do not run at a steady speed (interrupts, other
//! programs, a busy neighbour on a virtual machine), so a thread that finishes its shard
//! early takes the not-yet-started environments at the far end of another shard: the two
//! meet wherever the slower one got to, and the environments that move between cores
//! are the few near that meeting point.

use super::env::Env;
use super::scenario_env::ScenarioEnv;
use super::space::{Action, ActionMismatch, Space};
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One environment's result of a vectorized step.
#[derive(Debug, Clone, Default, PartialEq)]
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

/// One environment and its latest result. Each slot has cache lines of its own, so two
/// threads stepping neighbouring environments never write to one line.
#[repr(align(128))]
struct Slot {
    env: ScenarioEnv,
    /// Episodes started so far.
    episodes: u64,
    /// The last round this environment was stepped in: a thread claims it for a round by
    /// locking it and finding an older round here.
    round: u64,
    /// Overwritten in place by whichever thread steps the environment, so its buffers are
    /// mostly freed on the thread that made them.
    result: VecStep,
}

impl Slot {
    fn step(&mut self, action: &Action, seed_of_next_episode: impl FnOnce(u64) -> u64) {
        let step = self.env.step(action).expect("VecEnv::step checks every action first");
        let out = &mut self.result;
        (out.reward, out.terminated, out.truncated, out.success) =
            (step.reward, step.terminated, step.truncated, step.success);
        if step.done() {
            let seed = seed_of_next_episode(self.episodes);
            self.episodes += 1;
            out.final_obs = Some(step.obs);
            out.obs = self.env.reset(seed);
        } else {
            out.obs = step.obs;
            out.final_obs = None;
        }
    }
}

fn episode_seed(base: u64, total: u64, i: usize, k: u64) -> u64 {
    base.wrapping_add(k.wrapping_mul(total)).wrapping_add(i as u64)
}

/// State shared between the caller and the workers.
struct Shared {
    slots: Vec<Mutex<Slot>>,
    /// This round's actions, one per environment.
    actions: RwLock<Vec<Action>>,
    shards: usize,
    /// Bumped once per step (the round number); workers step their shard when it changes.
    generation: AtomicU64,
    /// Workers that finished the current generation.
    finished: AtomicUsize,
    /// A worker panicked (its message is already printed): the caller panics too rather
    /// than wait for it forever.
    worker_panicked: AtomicBool,
    stop: AtomicBool,
    base_seed: u64,
}

impl Shared {
    fn slot(&self, i: usize) -> MutexGuard<'_, Slot> {
        // A thread that panicked leaves its slot poisoned; the data is still whole.
        self.slots[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Environments of shard `s`: equal contiguous shares.
    fn shard(&self, s: usize) -> std::ops::Range<usize> {
        let n = self.slots.len();
        s * n / self.shards..(s + 1) * n / self.shards
    }

    /// Thread `s`'s part of round `round`: its own shard from the front, then what is left
    /// of the others, taken from their far ends.
    fn run_round(&self, s: usize, round: u64) {
        let actions = self.actions.read().unwrap_or_else(|e| e.into_inner());
        let mut take = |i: usize| self.try_step(i, round, &actions[i]);
        // The owner walks forward and thieves walk backward, so everything past the first
        // environment the owner finds taken is taken too, and the other way round.
        let _ = self.shard(s).all(&mut take);
        for other in (1..self.shards).map(|k| (s + k) % self.shards) {
            let _ = self.shard(other).rev().all(&mut take);
        }
    }

    /// Steps environment `i` unless another thread took it this round; false if it did.
    fn try_step(&self, i: usize, round: u64, action: &Action) -> bool {
        let mut slot = match self.slots[i].try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        if slot.round == round {
            return false;
        }
        slot.round = round;
        let total = self.slots.len() as u64;
        slot.step(action, |k| episode_seed(self.base_seed, total, i, k));
        true
    }
}

pub struct VecEnv {
    shared: Arc<Shared>,
    action_space: Space,
    workers: Vec<JoinHandle<()>>,
}

impl VecEnv {
    /// `n` copies of `env`, split over the machine's cores; nothing runs until `reset`.
    pub fn new(env: ScenarioEnv, n: usize, base_seed: u64) -> VecEnv {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        VecEnv::with_threads(env, n, base_seed, cores)
    }

    /// `n` copies of `env` stepped on at most `threads` threads (the caller's among them).
    pub fn with_threads(env: ScenarioEnv, n: usize, base_seed: u64, threads: usize) -> VecEnv {
        let n = n.max(1);
        let shards = threads.clamp(1, n);
        let action_space = env.action_space().clone();
        let slots = (0..shards)
            .flat_map(|s| {
                // One fork per shard: environments of one thread share their scenario and
                // template (better cache use), threads share nothing.
                let shard_env = env.fork();
                (s * n / shards..(s + 1) * n / shards).map(move |_| shard_env.clone())
            })
            .map(|env| Mutex::new(Slot { env, episodes: 0, round: 0, result: VecStep::default() }))
            .collect();
        let shared = Arc::new(Shared {
            slots,
            actions: RwLock::new(Vec::new()),
            shards,
            generation: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            worker_panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            base_seed,
        });
        let workers = (1..shards)
            .map(|s| {
                let shared = shared.clone();
                std::thread::spawn(move || work(&shared, s))
            })
            .collect();
        VecEnv { shared, action_space, workers }
    }

    pub fn len(&self) -> usize {
        self.shared.slots.len()
    }

    pub fn action_space(&self) -> &Space {
        &self.action_space
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seed of episode `k` of environment `i`.
    pub fn episode_seed(&self, i: usize, k: u64) -> u64 {
        episode_seed(self.shared.base_seed, self.len() as u64, i, k)
    }

    /// Starts the first episode of every environment.
    pub fn reset(&mut self) -> Vec<Vec<f32>> {
        (0..self.len())
            .map(|i| {
                let mut slot = self.shared.slot(i);
                slot.episodes = 1;
                slot.env.reset(self.episode_seed(i, 0))
            })
            .collect()
    }

    /// Starts an episode in every environment from the given seeds (one per environment), so
    /// several environments can replay the same start (population searches compare their
    /// candidates on common episodes). Later episodes follow the usual seed schedule.
    pub fn reset_seeded(&mut self, seeds: &[u64]) -> Vec<Vec<f32>> {
        assert_eq!(seeds.len(), self.len(), "one seed per environment");
        seeds
            .iter()
            .enumerate()
            .map(|(i, &seed)| {
                let mut slot = self.shared.slot(i);
                slot.episodes = 1;
                slot.env.reset(seed)
            })
            .collect()
    }

    /// Steps every environment with its action; finished episodes restart at once. An action
    /// that does not fit the space is refused before any environment moves.
    pub fn step(&mut self, actions: &[Action]) -> Result<Steps<'_>, ActionMismatch> {
        assert_eq!(actions.len(), self.len(), "one action per environment");
        actions.iter().try_for_each(|a| self.action_space.check(a))?;
        let shared = &*self.shared;
        {
            let mut round_actions = shared.actions.write().unwrap_or_else(|e| e.into_inner());
            round_actions.clear();
            round_actions.extend_from_slice(actions);
        }
        shared.finished.store(0, Ordering::Relaxed);
        let round = shared.generation.fetch_add(1, Ordering::Release) + 1;
        self.workers.iter().for_each(|w| w.thread().unpark());
        shared.run_round(0, round);
        wait_until(|| shared.finished.load(Ordering::Acquire) == self.workers.len());
        assert!(!shared.worker_panicked.load(Ordering::Acquire), "a VecEnv worker thread panicked while stepping");
        Ok(Steps { shared })
    }
}

/// The results of one `VecEnv::step`, read where the stepping threads left them. Workers
/// wait for the next step, which cannot start while this lives.
pub struct Steps<'a> {
    shared: &'a Shared,
}

/// One environment's result, borrowed from the `VecEnv`.
pub struct StepRef<'a>(MutexGuard<'a, Slot>);

impl Deref for StepRef<'_> {
    type Target = VecStep;

    fn deref(&self) -> &VecStep {
        &self.0.result
    }
}

impl<'a> Steps<'a> {
    pub fn len(&self) -> usize {
        self.shared.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Environment `i`'s result.
    pub fn get(&self, i: usize) -> StepRef<'a> {
        StepRef(self.shared.slot(i))
    }

    /// Results in environment order.
    pub fn iter(&self) -> impl Iterator<Item = StepRef<'a>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Spins on `done`, yielding the core after a while.
fn wait_until(done: impl Fn() -> bool) {
    // Without workers the round is already done: skip the clock.
    if done() {
        return;
    }
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

/// A worker's loop: do its part of each round when the generation changes.
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
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| shared.run_round(s, seen)));
        shared.worker_panicked.fetch_or(outcome.is_err(), Ordering::Release);
        shared.finished.fetch_add(1, Ordering::Release);
        if outcome.is_err() {
            return;
        }
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
