//! Optimizer steps with subnormal floats flushed to zero.
//!
//! Adam's moments decay geometrically wherever a gradient stays zero (a dead ReLU's weights,
//! say) and soon fall below f32's smallest normal number. x86 handles such subnormal operands
//! in microcode, about a hundred times slower: under `perf`, DQN spent 60% of its time
//! multiplying and dividing them. Inside an optimizer step they are flushed to zero; a
//! parameter update that small does not change an f32 parameter anyway. Only the step's own
//! thread is affected, and only for its duration (the physics never runs under it).

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};

/// `ModuleOptimizer::step`, with subnormals flushed to zero while it runs.
pub trait FlushedStep {
    fn step_flushed<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M;
}

impl FlushedStep for ModuleOptimizer {
    fn step_flushed<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        // Safety: only this thread's float mode changes, and the guard restores it on return.
        // Rust's caveat is that code compiled assuming the default mode may fold constants
        // differently; tensor arithmetic on runtime values is what runs here.
        unsafe { no_denormals::no_denormals(|| self.step(lr, module, grads)) }
    }
}
