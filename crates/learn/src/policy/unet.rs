//! A small 1-D convolutional U-Net denoiser over an action chunk's time axis (as in Chi et
//! al.'s diffusion policy): residual convolution blocks, each modulated (FiLM) by an embedding
//! of the condition and the noise level; the chunk halves in length at each level down and is
//! doubled back up with skip connections, so neighbouring actions are denoised together.

use super::Activation;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig1d};
use burn::prelude::*;

/// Kernel width of the blocks' convolutions (actions seen on each side: 2).
const KERNEL: usize = 5;

fn conv(channels_in: usize, channels_out: usize, kernel: usize, stride: usize, device: &Device) -> Conv1d {
    let pad = kernel / 2;
    Conv1dConfig::new(channels_in, channels_out, kernel)
        .with_stride(stride)
        .with_padding(PaddingConfig1d::Explicit(pad, pad))
        .init(device)
}

/// Group normalization in 8 groups where the channels allow, else over all of them.
fn norm(channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(if channels % 8 == 0 { 8 } else { 1 }, channels).init(device)
}

/// conv → norm → activation, FiLM, conv → norm → activation, plus the input (through a 1×1
/// convolution where the widths differ).
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: Conv1d,
    norm1: GroupNorm,
    /// The embedding → a per-channel scale and shift.
    film: Linear,
    conv2: Conv1d,
    norm2: GroupNorm,
    skip: Option<Conv1d>,
    #[module(skip)]
    activation: Activation,
}

impl ResBlock {
    fn new(channels_in: usize, channels_out: usize, embedding: usize, activation: Activation, device: &Device) -> Self {
        ResBlock {
            conv1: conv(channels_in, channels_out, KERNEL, 1, device),
            norm1: norm(channels_out, device),
            film: LinearConfig::new(embedding, 2 * channels_out).init(device),
            conv2: conv(channels_out, channels_out, KERNEL, 1, device),
            norm2: norm(channels_out, device),
            skip: (channels_in != channels_out).then(|| conv(channels_in, channels_out, 1, 1, device)),
            activation,
        }
    }

    /// `x`: [batch, channels_in, length], `embedding`: [batch, embedding] → [batch, channels_out, length].
    fn forward(&self, x: Tensor<3>, embedding: Tensor<2>) -> Tensor<3> {
        let h = self.activation.apply(self.norm1.forward(self.conv1.forward(x.clone())));
        let [batch, channels, _] = h.dims();
        let film = self.film.forward(embedding).reshape([batch, 2 * channels, 1]);
        let (scale, shift) = (film.clone().narrow(1, 0, channels), film.narrow(1, channels, channels));
        let h = h.clone() + h * scale + shift;
        let h = self.activation.apply(self.norm2.forward(self.conv2.forward(h)));
        h + match &self.skip {
            Some(skip) => skip.forward(x),
            None => x,
        }
    }
}

/// `[condition, noisy chunk, time features] → [chunk]`, like the MLP denoiser, with the chunk
/// read as `action_dim` channels over `horizon` steps.
#[derive(Module, Debug)]
pub struct UNet1d {
    /// The condition and time features → the embedding every block is modulated by.
    embed: Linear,
    down: Vec<ResBlock>,
    /// Stride-2 convolutions between levels.
    downsample: Vec<Conv1d>,
    middle: ResBlock,
    up: Vec<ResBlock>,
    out: Conv1d,
    #[module(skip)]
    horizon: usize,
    #[module(skip)]
    action_dim: usize,
    #[module(skip)]
    activation: Activation,
}

impl UNet1d {
    /// `extra` = condition + time features wide; `channels` per level, finest first.
    pub fn new(
        extra: usize,
        horizon: usize,
        action_dim: usize,
        channels: &[usize],
        activation: Activation,
        device: &Device,
    ) -> UNet1d {
        let embedding = *channels.last().unwrap_or(&64);
        let block = |i: usize, o: usize| ResBlock::new(i, o, embedding, activation, device);
        let ins: Vec<usize> = std::iter::once(action_dim).chain(channels.iter().copied()).collect();
        let levels = channels.len();
        UNet1d {
            embed: LinearConfig::new(extra, embedding).init(device),
            down: (0..levels).map(|l| block(ins[l], channels[l])).collect(),
            downsample: (0..levels.saturating_sub(1)).map(|l| conv(channels[l], channels[l], 3, 2, device)).collect(),
            middle: block(embedding, embedding),
            up: (0..levels.saturating_sub(1))
                .rev()
                .map(|l| block(channels[l + 1] + channels[l], channels[l]))
                .collect(),
            out: conv(channels[0], action_dim, 1, 1, device),
            horizon,
            action_dim,
            activation,
        }
    }

    /// `x`: [batch, condition + horizon · action_dim + time features] → [batch, horizon · action_dim].
    pub fn forward(&self, x: Tensor<2>, condition: usize) -> Tensor<2> {
        let [batch, width] = x.dims();
        let d = self.horizon * self.action_dim;
        let extra = Tensor::cat(
            vec![x.clone().narrow(1, 0, condition), x.clone().narrow(1, condition + d, width - condition - d)],
            1,
        );
        let embedding = self.activation.apply(self.embed.forward(extra));
        let mut h = x.narrow(1, condition, d).reshape([batch, self.horizon, self.action_dim]).swap_dims(1, 2);
        let mut skips = Vec::new();
        for (l, block) in self.down.iter().enumerate() {
            h = block.forward(h, embedding.clone());
            if let Some(down) = self.downsample.get(l) {
                skips.push(h.clone());
                h = down.forward(h);
            }
        }
        h = self.middle.forward(h, embedding.clone());
        for block in &self.up {
            let skip = skips.pop().expect("one skip per level down");
            h = block.forward(Tensor::cat(vec![upsample(h, skip.dims()[2]), skip], 1), embedding.clone());
        }
        self.out.forward(h).swap_dims(1, 2).reshape([batch, d])
    }
}

/// Nearest-neighbour upsampling of [batch, channels, length] to `length` (each step doubled,
/// the last dropped where the finer level was odd).
fn upsample(x: Tensor<3>, length: usize) -> Tensor<3> {
    let [batch, channels, coarse] = x.dims();
    x.unsqueeze_dim::<4>(3).repeat_dim(3, 2).reshape([batch, channels, 2 * coarse]).narrow(2, 0, length)
}
