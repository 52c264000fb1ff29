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
//! are the few near that meeting point. The unit that moves is a [`Pack`]: environments of a
//! scenario in which nothing touches anything share one rapier world, up to [`PACK`] of them.

use super::env::{Env, Step};
use super::pack::Pack;
use super::scenario_env::ScenarioEnv;
use super::space::{Action, ActionMismatch, Space};
use std::ops::Range;
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

/// A pack of environments and their latest results. Each slot has cache lines of its own,
/// so two threads stepping neighbouring packs never write to one line.
#[repr(align(128))]
struct Slot {
    pack: Pack,
    /// The index of the pack's first environment in the `VecEnv`.
    first: usize,
    /// Episodes started so far, per environment.
    episodes: Vec<u64>,
    /// The last round this pack was stepped in: a thread claims it for a round by locking
    /// it and finding an older round here.
    round: u64,
    /// Overwritten in place by whichever thread steps the pack, so their buffers are mostly
    /// freed on the thread that made them.
    results: Vec<VecStep>,
    /// The pack's steps before they become results (kept for its allocation).
    steps: Vec<Step>,
}

impl Slot {
    fn new(pack: Pack, first: usize) -> Slot {
        let n = pack.len();
        Slot { pack, first, episodes: vec![0; n], round: 0, results: vec![VecStep::default(); n], steps: Vec::new() }
    }

    fn envs(&self) -> Range<usize> {
        self.first..self.first + self.pack.len()
    }

    /// Starts episode 0 of every environment, from the seeds `seed(i)` of their indices.
    fn reset(&mut self, seed: impl Fn(usize) -> u64) -> Vec<Vec<f32>> {
        self.episodes.fill(1);
        (0..self.pack.len()).map(|copy| self.pack.reset(copy, seed(self.first + copy))).collect()
    }

    /// Steps the pack with its environments' actions; finished episodes restart from
    /// `seed(i, k)` (environment `i`, episode `k`).
    fn step(&mut self, actions: &[Action], seed: impl Fn(usize, u64) -> u64) {
        self.pack.step(&actions[self.envs()], &mut self.steps);
        for (copy, step) in self.steps.drain(..).enumerate() {
            let out = &mut self.results[copy];
            (out.reward, out.terminated, out.truncated, out.success) =
                (step.reward, step.terminated, step.truncated, step.success);
            if step.done() {
                let episode = &mut self.episodes[copy];
                let next = seed(self.first + copy, *episode);
                *episode += 1;
                out.final_obs = Some(step.obs);
                out.obs = self.pack.reset(copy, next);
            } else {
                out.obs = step.obs;
                out.final_obs = None;
            }
        }
    }
}

/// State shared between the caller and the workers.
struct Shared {
    slots: Vec<Mutex<Slot>>,
    /// Each thread's own slots.
    shards: Vec<Range<usize>>,
    /// This round's actions, one per environment.
    actions: RwLock<Vec<Action>>,
    /// Environments in all.
    envs: usize,
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
    fn slot(&self, j: usize) -> MutexGuard<'_, Slot> {
        // A thread that panicked leaves its slot poisoned; the data is still whole.
        self.slots[j].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seed of episode `k` of environment `i`: `base + k·N + i`.
    fn seed(&self, i: usize, k: u64) -> u64 {
        self.base_seed.wrapping_add(k.wrapping_mul(self.envs as u64)).wrapping_add(i as u64)
    }

    /// Thread `s`'s part of round `round`: its own shard from the front, then what is left
    /// of the others, taken from their far ends.
    fn run_round(&self, s: usize, round: u64) {
        let actions = self.actions.read().unwrap_or_else(|e| e.into_inner());
        let mut take = |j: usize| self.try_step(j, round, &actions);
        // The owner walks forward and thieves walk backward, so everything past the first
        // pack the owner finds taken is taken too, and the other way round.
        let _ = self.shards[s].clone().all(&mut take);
        for other in (1..self.shards.len()).map(|k| (s + k) % self.shards.len()) {
            let _ = self.shards[other].clone().rev().all(&mut take);
        }
    }

    /// Steps pack `j` unless another thread took it this round; false if it did.
    fn try_step(&self, j: usize, round: u64, actions: &[Action]) -> bool {
        let mut slot = match self.slots[j].try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        if slot.round == round {
            return false;
        }
        slot.round = round;
        slot.step(actions, |i, k| self.seed(i, k));
        true
    }
}

/// Most environments one pack holds: sixteen cart-poles in one world step fastest per
/// cart-pole (README, speed), and a shard of several packs leaves threads something to share.
const PACK: usize = 16;

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
        let threads = threads.clamp(1, n);
        let action_space = env.action_space().clone();
        let (mut slots, mut shards) = (Vec::new(), Vec::new());
        for s in 0..threads {
            // One fork per shard: environments of one thread share their scenario and
            // template (better cache use), threads share nothing.
            let shard_env = env.fork();
            let start = slots.len();
            for envs in packs(s * n / threads..(s + 1) * n / threads, shard_env.packable()) {
                slots.push(Mutex::new(Slot::new(Pack::new(shard_env.clone(), envs.len()), envs.start)));
            }
            shards.push(start..slots.len());
        }
        let shared = Arc::new(Shared {
            slots,
            shards,
            actions: RwLock::new(Vec::new()),
            envs: n,
            generation: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            worker_panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            base_seed,
        });
        let workers = (1..threads)
            .map(|s| {
                let shared = shared.clone();
                std::thread::spawn(move || work(&shared, s))
            })
            .collect();
        VecEnv { shared, action_space, workers }
    }

    pub fn len(&self) -> usize {
        self.shared.envs
    }

    pub fn action_space(&self) -> &Space {
        &self.action_space
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seed of episode `k` of environment `i`.
    pub fn episode_seed(&self, i: usize, k: u64) -> u64 {
        self.shared.seed(i, k)
    }

    /// Starts the first episode of every environment.
    pub fn reset(&mut self) -> Vec<Vec<f32>> {
        let shared = &*self.shared;
        (0..shared.slots.len()).flat_map(|j| shared.slot(j).reset(|i| shared.seed(i, 0))).collect()
    }

    /// Starts an episode in every environment from the given seeds (one per environment), so
    /// several environments can replay the same start (population searches compare their
    /// candidates on common episodes). Later episodes follow the usual seed schedule.
    pub fn reset_seeded(&mut self, seeds: &[u64]) -> Vec<Vec<f32>> {
        assert_eq!(seeds.len(), self.len(), "one seed per environment");
        let shared = &*self.shared;
        (0..shared.slots.len()).flat_map(|j| shared.slot(j).reset(|i| seeds[i])).collect()
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
        Ok(Steps { slots: (0..shared.slots.len()).map(|j| shared.slot(j)).collect(), envs: shared.envs })
    }
}

/// A shard's environments split into packs: as few as hold at most [`PACK`] each, of equal
/// sizes, when the scenario packs; one each when it does not.
fn packs(envs: Range<usize>, packable: bool) -> impl Iterator<Item = Range<usize>> {
    let count = if packable { envs.len().div_ceil(PACK) } else { envs.len() };
    (0..count).map(move |p| envs.start + p * envs.len() / count..envs.start + (p + 1) * envs.len() / count)
}

/// The results of one `VecEnv::step`, read where the stepping threads left them. Workers
/// wait for the next step, which cannot start while this lives.
pub struct Steps<'a> {
    slots: Vec<MutexGuard<'a, Slot>>,
    envs: usize,
}

impl Steps<'_> {
    pub fn len(&self) -> usize {
        self.envs
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Environment `i`'s result.
    pub fn get(&self, i: usize) -> &VecStep {
        let j = self.slots.partition_point(|slot| slot.first <= i) - 1;
        &self.slots[j].results[i - self.slots[j].first]
    }

    /// Results in environment order.
    pub fn iter(&self) -> impl Iterator<Item = &VecStep> {
        self.slots.iter().flat_map(|slot| &slot.results)
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
