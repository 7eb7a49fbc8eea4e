//! The Temporal Stamp Classifier (SPEC section 4): the first T alerts of an object, each
//! through the shared rotation-invariant stamp encoder, joined with the alert's features and
//! its time since the first detection (and optionally the object's AllWISE crossmatch), then a
//! causal temporal head and a classifier at every step: the class evolution `[B, T, C]`.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::encoder::{NetError, StampEncoder, StampEncoderConfig};
use super::heads::{HeadConfig, TemporalHead};

/// AllWISE values per object (W1, W2, W3 and colours), each with a presence flag.
pub const WISE_VALUES: usize = 9;
pub const WISE_INPUTS: usize = 2 * WISE_VALUES;

/// The classes of the paper.
pub const DEFAULT_CLASSES: [&str; 3] = ["AGN", "SN", "VS"];

/// How the time since the first detection enters the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeModulation {
    /// Days, as they are.
    None,
    /// ln(1 + days): resolves the first days, where SNe change fastest, and compresses the
    /// rest.
    Log1p,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemporalStampClassifierConfig {
    pub encoder: StampEncoderConfig,
    /// Normalised metadata features per detection.
    pub n_features: usize,
    pub time: TimeModulation,
    /// Whether the AllWISE `[B, 18]` input is used.
    pub wise: bool,
    pub head: HeadConfig,
    /// Width of the head's output.
    pub hidden: usize,
    /// Longest sequence (only the transformer head is bound by it).
    pub max_steps: usize,
    /// Dropout before the classifier (and inside the transformer).
    pub dropout: f64,
    /// Class names, in logit order.
    pub classes: Vec<String>,
}

impl Default for TemporalStampClassifierConfig {
    fn default() -> Self {
        Self {
            encoder: StampEncoderConfig::default(),
            n_features: 26,
            time: TimeModulation::Log1p,
            wise: true,
            head: HeadConfig::Lstm,
            hidden: 64,
            max_steps: 16,
            dropout: 0.0,
            classes: DEFAULT_CLASSES.iter().map(|c| c.to_string()).collect(),
        }
    }
}

impl TemporalStampClassifierConfig {
    /// Width of the per-detection vector the head reads.
    pub fn step_width(&self) -> usize {
        self.encoder.dense + self.n_features + 1 + if self.wise { WISE_INPUTS } else { 0 }
    }

    pub fn init(&self, device: &Device) -> Result<TemporalStampClassifier, NetError> {
        if self.classes.len() < 2 {
            return Err(NetError::Config("at least two classes are needed".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NetError::Config(format!(
                "dropout {} not in [0, 1)",
                self.dropout
            )));
        }
        let encoder = self.encoder.init(device)?;
        let head = self.head.init(
            self.step_width(),
            self.hidden,
            self.max_steps,
            self.dropout,
            device,
        )?;
        Ok(TemporalStampClassifier {
            encoder,
            head,
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(self.hidden, self.classes.len()).init(device),
            n_features: self.n_features,
            log_time: self.time == TimeModulation::Log1p,
            wise: self.wise,
        })
    }
}

#[derive(Module, Debug)]
pub struct TemporalStampClassifier {
    encoder: StampEncoder,
    head: TemporalHead,
    dropout: Dropout,
    classifier: Linear,
    n_features: usize,
    log_time: bool,
    wise: bool,
}

impl TemporalStampClassifier {
    pub fn encoder(&self) -> &StampEncoder {
        &self.encoder
    }

    pub fn head(&self) -> &TemporalHead {
        &self.head
    }

    /// Whether the inputs fit the network, so that [`Self::forward`] will not panic.
    pub fn check_inputs(
        &self,
        stamps: [usize; 5],
        features: [usize; 3],
        times: [usize; 2],
        wise: Option<[usize; 2]>,
    ) -> Result<(), NetError> {
        let [b, t, h, w, c] = stamps;
        self.encoder.check_input([b, h, w, c])?;
        if t == 0 {
            return Err(NetError::Input("sequences of no detection".into()));
        }
        if features != [b, t, self.n_features] {
            return Err(NetError::Input(format!(
                "features are {features:?}, expected {:?}",
                [b, t, self.n_features]
            )));
        }
        if times != [b, t] {
            return Err(NetError::Input(format!(
                "times are {times:?}, expected {:?}",
                [b, t]
            )));
        }
        if let Some(wise) = wise {
            if wise != [b, WISE_INPUTS] {
                return Err(NetError::Input(format!(
                    "AllWISE input is {wise:?}, expected {:?}",
                    [b, WISE_INPUTS]
                )));
            }
        }
        if let Some(max) = self.head.max_steps() {
            if t > max {
                return Err(NetError::Input(format!(
                    "{t} detections, the head takes at most {max}"
                )));
            }
        }
        Ok(())
    }

    /// Logits after every detection, `[B, T, C]`, from NHWC stamps `[B, T, H, W, 3]`,
    /// normalised features `[B, T, F]`, times in days `[B, T]` (MJD or any offset: only the
    /// differences to the first detection are used) and, optionally, the AllWISE values and
    /// presence flags `[B, 18]` (see [`wise_row`]; absent means all missing). The output at
    /// step t depends on the detections 0..=t only. Panics on shapes that
    /// [`Self::check_inputs`] rejects.
    pub fn forward(
        &self,
        stamps: Tensor<5>,
        features: Tensor<3>,
        times: Tensor<2>,
        wise: Option<Tensor<2>>,
    ) -> Tensor<3> {
        let [b, t, h, w, c] = stamps.dims();
        let embedding = self
            .encoder
            .forward(stamps.reshape([b * t, h, w, c]))
            .reshape([b, t, self.encoder.width()]);
        self.forward_embedded(embedding, features, times, wise)
    }

    /// [`Self::forward`] from the stamp embeddings `[B, T, width]` (the encoder's, or the CPU
    /// path's [`super::CpuEncoder::embed`]).
    pub fn forward_embedded(
        &self,
        embedding: Tensor<3>,
        features: Tensor<3>,
        times: Tensor<2>,
        wise: Option<Tensor<2>>,
    ) -> Tensor<3> {
        let [b, t, _] = embedding.dims();
        let device = embedding.device();

        let dt = (times.clone() - times.narrow(1, 0, 1)).clamp_min(0.0);
        let dt = if self.log_time { dt.log1p() } else { dt };
        let mut parts = vec![embedding, features, dt.unsqueeze_dim::<3>(2)];
        if self.wise {
            let wise = wise.unwrap_or_else(|| Tensor::zeros([b, WISE_INPUTS], &device));
            // Values count only where their flag says present, whatever the caller left there.
            let flags = wise.clone().narrow(1, WISE_VALUES, WISE_VALUES);
            let values = wise.narrow(1, 0, WISE_VALUES) * flags.clone();
            let wise = Tensor::cat(vec![values, flags], 1);
            parts.push(wise.unsqueeze_dim::<3>(1).expand([b, t, WISE_INPUTS]));
        }
        let x = Tensor::cat(parts, 2);
        let x = self.dropout.forward(self.head.forward(x));
        self.classifier.forward(x)
    }

    /// Class probabilities after every detection, `[B, T, C]`.
    pub fn probabilities(
        &self,
        stamps: Tensor<5>,
        features: Tensor<3>,
        times: Tensor<2>,
        wise: Option<Tensor<2>>,
    ) -> Tensor<3> {
        softmax(self.forward(stamps, features, times, wise), 2)
    }

    /// [`Self::forward`] after [`Self::check_inputs`].
    pub fn try_forward(
        &self,
        stamps: Tensor<5>,
        features: Tensor<3>,
        times: Tensor<2>,
        wise: Option<Tensor<2>>,
    ) -> Result<Tensor<3>, NetError> {
        self.check_inputs(
            stamps.dims(),
            features.dims(),
            times.dims(),
            wise.as_ref().map(|w| w.dims()),
        )?;
        Ok(self.forward(stamps, features, times, wise))
    }
}

/// A detection's days after its object's first detection, as the temporal models read them:
/// the first is at zero whether or not its alert gives a time; a later one is None when its
/// time or the first's is not a number (it cannot be placed).
pub fn days_after_first(first: f64, time: f64, is_first: bool) -> Option<f32> {
    if is_first {
        return Some(0.0);
    }
    let days = time - first;
    days.is_finite().then_some(days as f32)
}

/// One object's AllWISE input row: the 9 values (0 where missing) then their 9 presence flags.
pub fn wise_row(values: [Option<f32>; WISE_VALUES]) -> [f32; WISE_INPUTS] {
    let mut row = [0.0; WISE_INPUTS];
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            row[i] = v;
            row[WISE_VALUES + i] = 1.0;
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::days_after_first;

    #[test]
    fn the_first_detection_is_at_zero_and_a_later_one_needs_both_times() {
        assert_eq!(days_after_first(f64::NAN, f64::NAN, true), Some(0.0));
        assert_eq!(days_after_first(10.0, 12.5, false), Some(2.5));
        assert_eq!(days_after_first(10.0, f64::NAN, false), None);
        assert_eq!(days_after_first(f64::NAN, 12.5, false), None);
    }
}
