//! `Pack`: environments stepped together, copies of a contact-free scenario sharing one
//! rapier world, each moving bit for bit as it would alone.
//!
//! Stepping a small world costs mostly the fixed work of a rapier step, not its bodies, so
//! sixteen cart-poles in one world step about three times as fast per cart-pole as sixteen
//! worlds of one. Copies can share a world exactly only when nothing in them can touch:
//! each copy is then an island of its own, which rapier solves apart from the others.
//! Contacts could reach across copies through the narrow phase's shared order (push-T
//! tables packed eight to a world drift apart after 184 steps), so scenarios with solid
//! colliders keep a world per environment.

use super::env::{Env, Step};
use super::scenario_env::ScenarioEnv;
use super::space::Action;
use super::world;
use rapier2d::prelude::PhysicsWorld;

/// One environment with a world of its own, or copies of one sharing a world.
// A `VecEnv` holds one pack per slot, each on cache lines of its own: the variants' sizes
// cost nothing, and boxing the lone environment would add a pointer to chase every step.
#[allow(clippy::large_enum_variant)]
pub enum Pack {
    Alone(ScenarioEnv),
    /// Each copy holds its bodies' handles around a placeholder world and swaps the shared
    /// one in to act, observe and reset; one physics step then moves them all.
    Shared {
        physics: Box<PhysicsWorld>,
        copies: Vec<ScenarioEnv>,
    },
}

impl Pack {
    /// `n` copies of `env`, in one world when its scenario allows ([`ScenarioEnv::packable`];
    /// when it does not, a pack holds one environment).
    pub fn new(env: ScenarioEnv, n: usize) -> Pack {
        if n == 1 {
            return Pack::Alone(env);
        }
        assert!(env.packable(), "only contact-free scenarios pack several environments into one world");
        let (physics, handles) = world::build_copies(env.scenario(), n);
        let copies = handles.into_iter().map(|h| env.as_copy(h)).collect();
        Pack::Shared { physics, copies }
    }

    pub fn len(&self) -> usize {
        match self {
            Pack::Alone(_) => 1,
            Pack::Shared { copies, .. } => copies.len(),
        }
    }

    /// Starts copy `copy`'s next episode from `seed`; the others carry on.
    pub fn reset(&mut self, copy: usize, seed: u64) -> Vec<f32> {
        match self {
            Pack::Alone(env) => env.reset(seed),
            Pack::Shared { physics, copies } => lend(physics, &mut copies[copy], |env| env.reset_copy(seed)),
        }
    }

    /// Steps each copy with its action (checked against the action space already) and
    /// appends each copy's step to `steps`, in copy order.
    pub fn step(&mut self, actions: &[Action], steps: &mut Vec<Step>) {
        match self {
            Pack::Alone(env) => steps.push(env.step(&actions[0]).expect("actions are checked before stepping")),
            Pack::Shared { physics, copies } => {
                copies.iter_mut().zip(actions).for_each(|(env, action)| env.set_commands(action));
                for substep in 0..copies[0].scenario().substeps {
                    for env in copies.iter_mut() {
                        lend(physics, env, |env| env.actuate(substep == 0));
                    }
                    physics.step();
                }
                steps.extend(copies.iter_mut().map(|env| lend(physics, env, ScenarioEnv::finish_step)));
            }
        }
    }
}

/// Runs `f` on copy `env` while it holds the shared world.
fn lend<R>(physics: &mut Box<PhysicsWorld>, env: &mut ScenarioEnv, f: impl FnOnce(&mut ScenarioEnv) -> R) -> R {
    env.swap_physics(physics);
    let result = f(env);
    env.swap_physics(physics);
    result
}
