//! Temporal heads of the Temporal Stamp Classifier: the models the paper compares (LSTM, GRU,
//! SimpleRNN, gamma memory, Conv1D, TDNN) and the transformer it names as future work.
//!
//! Every head maps a sequence `[B, T, D]` to `[B, T, hidden]` causally: the output at step t
//! depends on inputs 0..=t only, so a classifier on top gives the class after every detection.

use burn::module::{Module, Param};
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{
    Gru, GruConfig, Linear, LinearConfig, Lstm, LstmConfig, PaddingConfig1d, PositionalEncoding,
    PositionalEncodingConfig, Rnn, RnnConfig,
};
use burn::tensor::activation::{relu, sigmoid, tanh};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::encoder::NetError;

/// Position information of the transformer head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Positions {
    /// One trained vector per step.
    Learned,
    /// The fixed sinusoids of "Attention is all you need".
    Sinusoidal,
}

/// Which temporal model runs over the per-detection vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum HeadConfig {
    Lstm,
    Gru,
    SimpleRnn,
    /// A cascade of `order` leaky integrators (de Vries and Principe). `mu` is the initial
    /// value; it is learned, through a logit so that it stays in (0, 1) where the memory is
    /// stable.
    GammaMemory {
        order: usize,
        mu: f64,
    },
    /// A causal 1-D convolution over the steps (left padding only).
    Conv1d {
        kernel: usize,
    },
    /// A time-delay network: the current vector and `delays` earlier ones (zeros before the
    /// first detection), concatenated and projected by one shared dense layer.
    Tdnn {
        delays: usize,
    },
    /// Transformer encoder layers with a causal attention mask.
    Transformer {
        layers: usize,
        heads: usize,
        positions: Positions,
    },
}

impl HeadConfig {
    /// A short name, for logs and test messages.
    pub fn name(&self) -> &'static str {
        match self {
            HeadConfig::Lstm => "lstm",
            HeadConfig::Gru => "gru",
            HeadConfig::SimpleRnn => "simple_rnn",
            HeadConfig::GammaMemory { .. } => "gamma_memory",
            HeadConfig::Conv1d { .. } => "conv1d",
            HeadConfig::Tdnn { .. } => "tdnn",
            HeadConfig::Transformer { .. } => "transformer",
        }
    }

    /// The head for `d_input`-wide steps; `max_steps` bounds the sequence length of the
    /// transformer's positions.
    pub fn init(
        &self,
        d_input: usize,
        hidden: usize,
        max_steps: usize,
        dropout: f64,
        device: &Device,
    ) -> Result<TemporalHead, NetError> {
        if d_input == 0 || hidden == 0 {
            return Err(NetError::Config("head sizes must be positive".into()));
        }
        Ok(match *self {
            HeadConfig::Lstm => {
                TemporalHead::Lstm(LstmConfig::new(d_input, hidden, true).init(device))
            }
            HeadConfig::Gru => {
                TemporalHead::Gru(GruConfig::new(d_input, hidden, true).init(device))
            }
            HeadConfig::SimpleRnn => {
                TemporalHead::SimpleRnn(RnnConfig::new(d_input, hidden, true).init(device))
            }
            HeadConfig::GammaMemory { order, mu } => {
                if order == 0 || !(mu > 0.0 && mu < 1.0) {
                    return Err(NetError::Config(format!(
                        "gamma memory needs order >= 1 and 0 < mu < 1, got {order} and {mu}"
                    )));
                }
                let logit = (mu / (1.0 - mu)).ln();
                TemporalHead::GammaMemory(GammaMemory {
                    input: LinearConfig::new(d_input, hidden).init(device),
                    mu_logit: Param::from_tensor(Tensor::full([1], logit, device)),
                    output: LinearConfig::new(hidden * (order + 1), hidden).init(device),
                    order,
                })
            }
            HeadConfig::Conv1d { kernel } => {
                if kernel == 0 {
                    return Err(NetError::Config("conv1d kernel must be positive".into()));
                }
                TemporalHead::Conv1d(CausalConv1d {
                    conv: Conv1dConfig::new(d_input, hidden, kernel)
                        .with_padding(PaddingConfig1d::Explicit(kernel - 1, 0))
                        .init(device),
                })
            }
            HeadConfig::Tdnn { delays } => TemporalHead::Tdnn(Tdnn {
                taps: LinearConfig::new(d_input * (delays + 1), hidden).init(device),
                delays,
            }),
            HeadConfig::Transformer {
                layers,
                heads,
                positions,
            } => {
                if layers == 0 || heads == 0 || !hidden.is_multiple_of(heads) {
                    return Err(NetError::Config(format!(
                        "transformer needs layers >= 1 and hidden ({hidden}) divisible by heads ({heads})"
                    )));
                }
                if max_steps == 0 {
                    return Err(NetError::Config("max_steps must be positive".into()));
                }
                let (learned, sinusoids) = match positions {
                    Positions::Learned => (
                        Some(Param::from_tensor(Tensor::random(
                            [max_steps, hidden],
                            Distribution::Normal(0.0, 0.1),
                            device,
                        ))),
                        None,
                    ),
                    Positions::Sinusoidal => (
                        None,
                        Some(
                            PositionalEncodingConfig::new(hidden)
                                .with_max_sequence_size(max_steps)
                                .init(device),
                        ),
                    ),
                };
                TemporalHead::Transformer(CausalTransformer {
                    input: LinearConfig::new(d_input, hidden).init(device),
                    learned,
                    sinusoids,
                    encoder: TransformerEncoderConfig::new(hidden, 2 * hidden, heads, layers)
                        .with_dropout(dropout)
                        .with_norm_first(true)
                        .init(device),
                    max_steps,
                })
            }
        })
    }
}

/// A configured temporal head; see [`HeadConfig`].
// A model holds exactly one head, so the padding of the smaller variants costs nothing worth
// the indirection of boxing the recurrent ones.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TemporalHead {
    Lstm(Lstm),
    Gru(Gru),
    SimpleRnn(Rnn),
    GammaMemory(GammaMemory),
    Conv1d(CausalConv1d),
    Tdnn(Tdnn),
    Transformer(CausalTransformer),
}

impl TemporalHead {
    /// `[B, T, D]` to `[B, T, hidden]`, causally.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            TemporalHead::Lstm(m) => m.forward(x, None).0,
            TemporalHead::Gru(m) => m.forward(x, None),
            TemporalHead::SimpleRnn(m) => m.forward(x, None).0,
            TemporalHead::GammaMemory(m) => m.forward(x),
            TemporalHead::Conv1d(m) => m.forward(x),
            TemporalHead::Tdnn(m) => m.forward(x),
            TemporalHead::Transformer(m) => m.forward(x),
        }
    }

    /// The longest sequence the head takes (only the transformer has a limit).
    pub fn max_steps(&self) -> Option<usize> {
        match self {
            TemporalHead::Transformer(m) => Some(m.max_steps),
            _ => None,
        }
    }
}

/// Gamma memory: x_0(t) = p(t), x_k(t) = (1 - mu) x_k(t-1) + mu x_{k-1}(t-1), with p a dense
/// projection of the input; the taps x_0..x_K are concatenated and projected to `hidden`.
#[derive(Module, Debug)]
pub struct GammaMemory {
    input: Linear,
    mu_logit: Param<Tensor<1>>,
    output: Linear,
    order: usize,
}

impl GammaMemory {
    /// The current memory parameter.
    pub fn mu(&self) -> Tensor<1> {
        sigmoid(self.mu_logit.val())
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let p = tanh(self.input.forward(x));
        let [_, _, h] = p.dims();
        let device = p.device();
        let mu = self.mu().reshape([1, 1]);
        let one_minus_mu = mu.clone().neg().add_scalar(1.0);
        // prev[k] is x_k(t-1); zero before the first step.
        let mut prev: Vec<Tensor<2>> = vec![Tensor::zeros([b, h], &device); self.order + 1];
        let mut outputs = Vec::with_capacity(t);
        for step in 0..t {
            let mut current = Vec::with_capacity(self.order + 1);
            current.push(p.clone().narrow(1, step, 1).reshape([b, h]));
            for k in 1..=self.order {
                current.push(
                    prev[k].clone() * one_minus_mu.clone() + prev[k - 1].clone() * mu.clone(),
                );
            }
            outputs.push(Tensor::cat(current.clone(), 1).unsqueeze_dim::<3>(1));
            prev = current;
        }
        relu(self.output.forward(Tensor::cat(outputs, 1)))
    }
}

/// Conv1d over the steps with `kernel - 1` zero steps on the left only.
#[derive(Module, Debug)]
pub struct CausalConv1d {
    conv: Conv1d,
}

impl CausalConv1d {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        relu(self.conv.forward(x.swap_dims(1, 2))).swap_dims(1, 2)
    }
}

/// A tapped delay line of the step vectors, `[x(t), x(t-1), .., x(t-delays)]`, through one
/// dense layer shared over time.
#[derive(Module, Debug)]
pub struct Tdnn {
    taps: Linear,
    delays: usize,
}

impl Tdnn {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let device = x.device();
        let mut line = Vec::with_capacity(self.delays + 1);
        for delay in 0..=self.delays {
            let shifted = if delay == 0 {
                x.clone()
            } else if delay >= t {
                Tensor::zeros([b, t, d], &device)
            } else {
                Tensor::cat(
                    vec![
                        Tensor::zeros([b, delay, d], &device),
                        x.clone().narrow(1, 0, t - delay),
                    ],
                    1,
                )
            };
            line.push(shifted);
        }
        relu(self.taps.forward(Tensor::cat(line, 2)))
    }
}

/// Transformer encoder with an autoregressive mask, so step t attends to steps 0..=t.
#[derive(Module, Debug)]
pub struct CausalTransformer {
    input: Linear,
    learned: Option<Param<Tensor<2>>>,
    sinusoids: Option<PositionalEncoding>,
    encoder: TransformerEncoder,
    max_steps: usize,
}

impl CausalTransformer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let device = x.device();
        let mut x = self.input.forward(x);
        if let Some(learned) = &self.learned {
            x = x + learned.val().narrow(0, 0, t).unsqueeze_dim::<3>(0);
        }
        if let Some(sinusoids) = &self.sinusoids {
            x = sinusoids.forward(x);
        }
        let mask = generate_autoregressive_mask(b, t, &device);
        self.encoder
            .forward(TransformerEncoderInput::new(x).mask_attn(mask))
    }
}
