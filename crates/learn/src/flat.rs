//! A module's parameters as one flat vector, for the methods that treat a network as a point
//! in parameter space: TRPO's natural-gradient step and line search, and the gradient-free
//! searches (CEM, evolution strategies) that sample whole parameter vectors.

use super::batch::floats;
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Every float parameter of `module`, in visiting order.
pub fn params<M: Module>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(floats(param.val().flatten::<1>(0, D - 1)));
        }
    }
    let mut c = Collect(Vec::new());
    module.visit(&mut c);
    c.0
}

/// `module` with its float parameters replaced by `flat` (as [`params`] orders them); the
/// parameters keep their ids and whether they are trained.
pub fn with_params<M: Module>(module: M, flat: &[f32]) -> M {
    struct Assign<'a>(&'a [f32]);
    impl ModuleMapper for Assign<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| {
                let (shape, device, trained) = (t.shape(), t.device(), t.is_require_grad());
                let (head, rest) = self.0.split_at(shape.num_elements());
                self.0 = rest;
                let fresh = Tensor::<D>::from_data(TensorData::new(head.to_vec(), shape), &device);
                if trained { fresh.require_grad() } else { fresh }
            })
        }
    }
    let mut assign = Assign(flat);
    let module = module.map(&mut assign);
    debug_assert!(assign.0.is_empty(), "as many values as parameters");
    module
}

/// The gradients of `module`'s float parameters, flat in [`params`]' order (0 where a
/// parameter got none).
pub fn gradients<M: Module>(module: &M, grads: &GradientsParams) -> Vec<f32> {
    struct Collect<'a>(&'a GradientsParams, Vec<f32>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            match self.0.get::<D>(param.id) {
                Some(g) => self.1.extend(floats(g.flatten::<1>(0, D - 1))),
                None => self.1.extend(std::iter::repeat_n(0.0, param.shape().num_elements())),
            }
        }
    }
    let mut c = Collect(grads, Vec::new());
    module.visit(&mut c);
    c.1
}

/// a · b.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// a + s·b.
pub fn axpy(a: &[f32], s: f32, b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + s * y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Activation, Mlp};

    #[test]
    fn parameters_round_trip_and_gradients_line_up_with_them() {
        let device = Device::flex().autodiff();
        let mlp = Mlp::new(3, &[4], 2, Activation::Relu, false, &device);
        let theta = params(&mlp);
        assert_eq!(theta.len(), 3 * 4 + 4 + 4 * 2 + 2);
        let doubled: Vec<f32> = theta.iter().map(|v| 2.0 * v).collect();
        let mlp = with_params(mlp, &doubled);
        assert_eq!(params(&mlp), doubled);
        // The sum of the outputs is linear in the last bias: its gradient there is the batch size.
        let x = Tensor::<2>::ones([5, 3], &device);
        let grads = GradientsParams::from_grads(mlp.forward(x).sum().backward(), &mlp);
        let g = gradients(&mlp, &grads);
        assert_eq!(g.len(), theta.len());
        assert_eq!(&g[g.len() - 2..], &[5.0, 5.0]);
    }
}
