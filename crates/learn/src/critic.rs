//! Q-functions for the off-policy actor-critics (SAC, TD3): twin critics, whose minimum curbs
//! the overestimation a single critic's maximization breeds (Fujimoto et al. 2018), and
//! soft (Polyak) target updates.

use super::policy::{Activation, Mlp};
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use std::collections::VecDeque;

/// Two independent Q-networks over (observation, scaled action).
#[derive(Module, Debug)]
pub struct TwinQ {
    pub q1: Mlp,
    pub q2: Mlp,
}

impl TwinQ {
    pub fn new(obs_dim: usize, action_dim: usize, hidden: &[usize], activation: Activation, device: &Device) -> TwinQ {
        let q = || Mlp::new(obs_dim + action_dim, hidden, 1, activation, false, device);
        TwinQ { q1: q(), q2: q() }
    }

    /// Both critics' values: `obs` [batch, obs_dim], `action` [batch, action_dim] → two [batch].
    pub fn forward(&self, obs: Tensor<2>, action: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        let b = obs.dims()[0];
        let x = Tensor::cat(vec![obs, action], 1);
        (self.q1.forward(x.clone()).reshape([b]), self.q2.forward(x).reshape([b]))
    }

    /// The smaller of the two values, [batch].
    pub fn min(&self, obs: Tensor<2>, action: Tensor<2>) -> Tensor<1> {
        let (a, b) = self.forward(obs, action);
        a.min_pair(b)
    }
}

/// Moves every parameter of `target` a fraction `tau` towards the same parameter of `online`
/// (both the same architecture): θ' ← τ·θ + (1 − τ)·θ'.
pub fn polyak<M: Module>(target: M, online: &M, tau: f64) -> M {
    struct Collect(VecDeque<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push_back(param.val().flatten::<1>(0, D - 1));
        }
    }
    struct Blend(VecDeque<Tensor<1>>, f64);
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let source = self.0.pop_front().expect("the same architecture");
            let tau = self.1;
            param.map(|t| {
                let shape = t.shape();
                t * (1.0 - tau) + source.reshape(shape) * tau
            })
        }
    }
    let mut collected = Collect(VecDeque::new());
    online.visit(&mut collected);
    target.map(&mut Blend(collected.0, tau))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::floats;

    /// Every float parameter's values, in visiting order.
    struct Values(Vec<f32>);
    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(floats(param.val().flatten::<1>(0, D - 1)));
        }
    }

    fn values(m: &TwinQ) -> Vec<f32> {
        let mut v = Values(Vec::new());
        m.visit(&mut v);
        v.0
    }

    #[test]
    fn polyak_moves_each_parameter_tau_of_the_way() {
        let device = Device::flex();
        let a = TwinQ::new(2, 1, &[4], Activation::Relu, &device);
        let b = TwinQ::new(2, 1, &[4], Activation::Relu, &device);
        let (va, vb) = (values(&a), values(&b));
        assert_ne!(va, vb);
        assert_eq!(values(&polyak(a.clone(), &b, 1.0)), vb, "τ = 1 copies");
        assert_eq!(values(&polyak(a.clone(), &b, 0.0)), va, "τ = 0 keeps");
        let quarter = values(&polyak(a, &b, 0.25));
        for ((x, y), q) in va.iter().zip(&vb).zip(&quarter) {
            assert!((0.75 * x + 0.25 * y - q).abs() < 1e-6, "{x} {y} {q}");
        }
    }
}
