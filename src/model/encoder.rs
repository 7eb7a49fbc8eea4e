//! The rotation-invariant stamp encoder of the ALeRCE stamp classifier (SPEC section 3), made
//! configurable: crop size, kernels, filters, dense width, dropout, and the choice between the
//! four rotations and the eight dihedral transforms.
//!
//! Every transform of a stamp goes through the same conv stack (shared weights, stacked along
//! the batch) and the dense embeddings are averaged over the transforms (cyclic average
//! pooling), so the embedding is invariant to the transforms by construction.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::cpu_infer::{CpuEncoder, CpuInferError, StackLayer, StackRef};

/// Errors of the configurable networks: a configuration that describes no valid network, or
/// inputs whose shapes do not fit the network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("input: {0}")]
    Input(String),
    #[error("reading the result from the device: {0}")]
    Readback(String),
}

/// Shape of a [`StampEncoder`]. The defaults are the deployed ALeRCE encoder (kernel sizes as
/// in its checkpoint: 4x4 after 3 px of padding, then 3x3 SAME).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StampEncoderConfig {
    /// Side of the square input stamp in pixels (H = W).
    pub crop: usize,
    /// Image channels (science, template, difference).
    pub channels: usize,
    /// Kernel of the first convolution, applied VALID after `first_padding` zero pixels.
    pub first_kernel: usize,
    pub first_padding: usize,
    /// Kernel of every later convolution, SAME padded: must be odd.
    pub kernel: usize,
    /// Filter counts per block; each block ends with a 2x2 max pool. The first filter of the
    /// first block uses `first_kernel`.
    pub blocks: Vec<Vec<usize>>,
    /// Width of the embedding.
    pub dense: usize,
    /// Dropout after the dense layer, active only on an autodiff device.
    pub dropout: f64,
    /// Eight dihedral transforms (rotations and their mirror images) instead of four rotations.
    pub dihedral: bool,
}

impl Default for StampEncoderConfig {
    fn default() -> Self {
        Self {
            crop: 21,
            channels: 3,
            first_kernel: 4,
            first_padding: 3,
            kernel: 3,
            blocks: vec![vec![32, 32], vec![64, 64, 64]],
            dense: 64,
            dropout: 0.5,
            dihedral: false,
        }
    }
}

impl StampEncoderConfig {
    /// Side of the feature map after the conv stack, or why there is none.
    pub fn final_side(&self) -> Result<usize, NetError> {
        if self.crop == 0 || self.channels == 0 || self.dense == 0 {
            return Err(NetError::Config(
                "crop, channels and dense must be positive".into(),
            ));
        }
        if self.blocks.is_empty() || self.blocks.iter().any(|b| b.is_empty()) {
            return Err(NetError::Config(
                "the encoder needs at least one block, each with at least one convolution".into(),
            ));
        }
        if self.blocks.iter().flatten().any(|&f| f == 0) {
            return Err(NetError::Config("filter counts must be positive".into()));
        }
        if self.kernel.is_multiple_of(2) {
            return Err(NetError::Config(format!(
                "kernel {} must be odd for SAME padding",
                self.kernel
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NetError::Config(format!(
                "dropout {} not in [0, 1)",
                self.dropout
            )));
        }
        let padded = self.crop + 2 * self.first_padding;
        if self.first_kernel == 0 || self.first_kernel > padded {
            return Err(NetError::Config(format!(
                "first kernel {} does not fit a {padded} px padded stamp",
                self.first_kernel
            )));
        }
        let mut side = padded - self.first_kernel + 1;
        for _ in &self.blocks {
            side /= 2;
        }
        if side == 0 {
            return Err(NetError::Config(format!(
                "a {} px stamp shrinks to nothing after {} pools",
                self.crop,
                self.blocks.len()
            )));
        }
        Ok(side)
    }

    /// Length of the flattened conv output that feeds the dense layer.
    pub fn flatten_size(&self) -> Result<usize, NetError> {
        let side = self.final_side()?;
        let last = self
            .blocks
            .last()
            .and_then(|b| b.last())
            .copied()
            .ok_or_else(|| NetError::Config("no convolutions".into()))?;
        Ok(side * side * last)
    }

    pub fn n_transforms(&self) -> usize {
        if self.dihedral {
            8
        } else {
            4
        }
    }

    pub fn init(&self, device: &Device) -> Result<StampEncoder, NetError> {
        let flat = self.flatten_size()?;
        let same = self.kernel / 2;
        let mut cin = self.channels;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (i, filters) in self.blocks.iter().enumerate() {
            let mut convs = Vec::with_capacity(filters.len());
            for (j, &cout) in filters.iter().enumerate() {
                let (k, p) = if i == 0 && j == 0 {
                    (self.first_kernel, self.first_padding)
                } else {
                    (self.kernel, same)
                };
                convs.push(
                    Conv2dConfig::new([cin, cout], [k, k])
                        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                        .init(device),
                );
                cin = cout;
            }
            blocks.push(EncoderBlock {
                convs,
                pool: MaxPool2dConfig::new([2, 2]).init(),
            });
        }
        Ok(StampEncoder {
            blocks,
            dense: LinearConfig::new(flat, self.dense).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            crop: self.crop,
            channels: self.channels,
            flat,
            width: self.dense,
            dihedral: self.dihedral,
        })
    }
}

#[derive(Module, Debug)]
pub struct EncoderBlock {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
}

/// The shared per-stamp CNN: NHWC stamps `[B, crop, crop, channels]` to `[B, dense]`.
#[derive(Module, Debug)]
pub struct StampEncoder {
    blocks: Vec<EncoderBlock>,
    dense: Linear,
    dropout: Dropout,
    crop: usize,
    channels: usize,
    flat: usize,
    width: usize,
    dihedral: bool,
}

impl StampEncoder {
    /// Width of the embedding.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn crop(&self) -> usize {
        self.crop
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Whether `dims` (NHWC) fits this encoder.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), NetError> {
        let [_, h, w, c] = dims;
        if h != self.crop || w != self.crop || c != self.channels {
            return Err(NetError::Input(format!(
                "stamps are {h}x{w}x{c}, the encoder takes {0}x{0}x{1}",
                self.crop, self.channels
            )));
        }
        Ok(())
    }

    /// The conv stack and dense layer with their weights in the CPU inference path's layouts
    /// (dropout is inactive at inference).
    pub fn cpu_encoder(&self) -> Result<CpuEncoder, CpuInferError> {
        let mut layers = Vec::new();
        for block in &self.blocks {
            layers.extend(block.convs.iter().map(StackLayer::Conv));
            layers.push(StackLayer::Pool(&block.pool));
        }
        CpuEncoder::from_stack(StackRef {
            layers,
            dense: &self.dense,
            crop: self.crop,
            channels: self.channels,
            dihedral: self.dihedral,
        })
    }

    /// The transform-averaged embedding of NHWC stamps: `[B, dense]`. Panics when the stamps
    /// do not have the configured shape; [`Self::check_input`] says so beforehand.
    pub fn forward(&self, stamps: Tensor<4>) -> Tensor<2> {
        let [b, _, _, _] = stamps.dims();
        let x = stamps.permute([0, 3, 1, 2]);
        let transforms = transforms(x, self.dihedral);
        let n = transforms.len();
        // Row k*B + b is transform k of stamp b, so the pooling below is one reshape away.
        let mut x = Tensor::cat(transforms, 0);
        for block in &self.blocks {
            for conv in &block.convs {
                x = relu(conv.forward(x));
            }
            x = block.pool.forward(x);
        }
        // NHWC flatten order, as the TensorFlow original.
        let x = x.permute([0, 2, 3, 1]).reshape([n * b, self.flat]);
        let x = self.dropout.forward(relu(self.dense.forward(x)));
        x.reshape([n, b, self.width])
            .mean_dim(0)
            .reshape([b, self.width])
    }
}

/// The four rotations of NCHW images, and with `dihedral` their mirror images too.
fn transforms(x: Tensor<4>, dihedral: bool) -> Vec<Tensor<4>> {
    let mut out = Vec::with_capacity(if dihedral { 8 } else { 4 });
    let mut r = x;
    for _ in 0..4 {
        let next = rot90(r.clone());
        if dihedral {
            out.push(r.clone().flip([3]));
        }
        out.push(r);
        r = next;
    }
    out
}

/// `np.rot90(x, 1, axes=(H, W))` on NCHW: mirror the columns, then transpose.
pub fn rot90(x: Tensor<4>) -> Tensor<4> {
    x.flip([3]).swap_dims(2, 3)
}
