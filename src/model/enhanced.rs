//! The enhanced stamp classifier: the single-alert member of the family. The same encoder as
//! the temporal model, at any crop size, with the features fed in as they are (no BatchNorm:
//! they arrive normalised) and dense layers to C logits.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::encoder::{NetError, StampEncoder, StampEncoderConfig};
use super::temporal::DEFAULT_CLASSES;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnhancedStampClassifierConfig {
    pub encoder: StampEncoderConfig,
    pub n_features: usize,
    /// Widths of the dense layers after the concatenation (ALeRCE: two of 64).
    pub dense: Vec<usize>,
    pub dropout: f64,
    pub classes: Vec<String>,
}

impl Default for EnhancedStampClassifierConfig {
    fn default() -> Self {
        Self {
            encoder: StampEncoderConfig::default(),
            n_features: 26,
            dense: vec![64, 64],
            dropout: 0.5,
            classes: DEFAULT_CLASSES.iter().map(|c| c.to_string()).collect(),
        }
    }
}

impl EnhancedStampClassifierConfig {
    pub fn init(&self, device: &Device) -> Result<EnhancedStampClassifier, NetError> {
        if self.classes.len() < 2 {
            return Err(NetError::Config("at least two classes are needed".into()));
        }
        if self.dense.contains(&0) {
            return Err(NetError::Config("dense widths must be positive".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NetError::Config(format!(
                "dropout {} not in [0, 1)",
                self.dropout
            )));
        }
        let encoder = self.encoder.init(device)?;
        let mut width = encoder.width() + self.n_features;
        let mut dense = Vec::with_capacity(self.dense.len());
        for &d in &self.dense {
            dense.push(LinearConfig::new(width, d).init(device));
            width = d;
        }
        Ok(EnhancedStampClassifier {
            encoder,
            dense,
            dropout: DropoutConfig::new(self.dropout).init(),
            logits: LinearConfig::new(width, self.classes.len()).init(device),
            n_features: self.n_features,
        })
    }
}

#[derive(Module, Debug)]
pub struct EnhancedStampClassifier {
    encoder: StampEncoder,
    dense: Vec<Linear>,
    dropout: Dropout,
    logits: Linear,
    n_features: usize,
}

impl EnhancedStampClassifier {
    pub fn encoder(&self) -> &StampEncoder {
        &self.encoder
    }

    /// Whether NHWC stamps and features of these shapes fit.
    pub fn check_inputs(&self, stamps: [usize; 4], features: [usize; 2]) -> Result<(), NetError> {
        self.encoder.check_input(stamps)?;
        if features != [stamps[0], self.n_features] {
            return Err(NetError::Input(format!(
                "features are {features:?}, expected {:?}",
                [stamps[0], self.n_features]
            )));
        }
        Ok(())
    }

    /// Logits `[B, C]` from NHWC stamps `[B, H, W, 3]` and normalised features `[B, F]`.
    /// Panics on shapes that [`Self::check_inputs`] rejects.
    pub fn forward(&self, stamps: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        self.forward_embedded(self.encoder.forward(stamps), features)
    }

    /// Logits `[B, C]` from stamp embeddings `[B, width]` (the encoder's, or the CPU path's
    /// [`super::CpuEncoder::embed`]) and normalised features `[B, F]`.
    pub fn forward_embedded(&self, embedding: Tensor<2>, features: Tensor<2>) -> Tensor<2> {
        let mut x = Tensor::cat(vec![embedding, features], 1);
        for dense in &self.dense {
            x = self.dropout.forward(relu(dense.forward(x)));
        }
        self.logits.forward(x)
    }

    /// Class probabilities `[B, C]`.
    pub fn probabilities(&self, stamps: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        softmax(self.forward(stamps, features), 1)
    }

    /// [`Self::forward`] after [`Self::check_inputs`].
    pub fn try_forward(
        &self,
        stamps: Tensor<4>,
        features: Tensor<2>,
    ) -> Result<Tensor<2>, NetError> {
        self.check_inputs(stamps.dims(), features.dims())?;
        Ok(self.forward(stamps, features))
    }
}
