//! The ALeRCE stamp classifier (Carrasco-Davis et al. 2021) as a Burn module, loadable from the
//! TensorFlow checkpoint exported to safetensors (`alerce_stamp_classifier.safetensors`).
//!
//! Layer by layer it follows `alerce_stamp_classifier.json`; the places where TensorFlow and
//! Burn disagree on conventions are the input layout (NHWC vs NCHW), the conv kernel layout
//! (HWIO vs OIHW) and the flatten order before `fc1` (NHWC).

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use super::cpu_infer::{CpuEncoder, CpuInferError, StackLayer, StackRef};
use crate::features::ALERCE_FEATURES;
use crate::stamp::{ALERCE_CROP, CHANNELS};

/// Output classes, in the order of the logits.
pub const ALERCE_CLASSES: [&str; 5] = ["AGN", "SN", "VS", "asteroid", "bogus"];

const N_FEATURES: usize = ALERCE_FEATURES.len();
const N_ROTATIONS: usize = 4;
/// Spatial size after the two 2x2 pools: 21 + 2*3 - 4 + 1 = 24 -> 12 -> 6.
const FINAL_SIDE: usize = 6;
const FINAL_CHANNELS: usize = 64;
const HIDDEN: usize = 64;
/// Keras' BatchNormalization default, which the checkpoint was trained with.
const BN_EPS: f64 = 0.001;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a safetensors file: {source}")]
    NotSafetensors {
        path: PathBuf,
        #[source]
        source: safetensors::SafeTensorError,
    },
    #[error("{path}: no tensor `{tensor}`")]
    MissingTensor { path: PathBuf, tensor: String },
    #[error("{path}: tensor `{tensor}` is {dtype} {shape:?}, expected F32 {expected:?}")]
    WrongTensor {
        path: PathBuf,
        tensor: String,
        dtype: String,
        shape: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("input: {0}")]
    Input(String),
    /// The CPU encoder refused the stamps.
    #[error("input: {0}")]
    CpuInput(#[source] super::cpu_infer::CpuInferError),
    /// The tree ensemble refused the feature rows (a `trees::TreeError`, boxed: the tree
    /// module reads this one's classes, so this one does not name its types).
    #[error("input: {0}")]
    TreeInput(#[source] super::file::Cause),
    /// The class priors do not fit the model's classes.
    #[error("input: {0}")]
    Priors(#[source] super::priors::PriorsError),
    #[error("reading the result from the device: {0}")]
    Readback(String),
    #[error("reading the result from the device: {0}")]
    Device(#[source] super::file::Cause),
}

/// One row of 5 per stamp, in [`ALERCE_CLASSES`] order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    pub logits: Vec<[f32; 5]>,
    pub probabilities: Vec<[f32; 5]>,
}

/// The with-features ALeRCE network: a rotation-averaged conv net on 21x21x3 stamps, whose
/// embedding is concatenated with 26 batch-normalised features.
#[derive(Module, Debug)]
pub struct AlerceStampClassifier {
    conv1: Conv2d,
    conv2: Conv2d,
    pool1: MaxPool2d,
    conv3: Conv2d,
    conv4: Conv2d,
    conv5: Conv2d,
    pool2: MaxPool2d,
    fc1: Linear,
    bn_gamma: Param<Tensor<1>>,
    bn_beta: Param<Tensor<1>>,
    bn_moving_mean: Param<Tensor<1>>,
    bn_moving_variance: Param<Tensor<1>>,
    fc2: Linear,
    fc3: Linear,
    logits: Linear,
}

impl AlerceStampClassifier {
    /// A freshly initialised network (random weights) of the ALeRCE shape.
    pub fn new(device: &Device) -> Self {
        // The checkpoint's `pad 3` then VALID 4x4 conv is the same as a 4x4 conv with 3 zero
        // pixels of padding; conv2..5 are TF SAME, which for k=3, stride 1 is 1 on each side.
        let same = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        let conv = |cin, cout, k, padding| {
            Conv2dConfig::new([cin, cout], [k, k])
                .with_padding(padding)
                .init(device)
        };
        let pool = || MaxPool2dConfig::new([2, 2]).init();
        Self {
            conv1: conv(CHANNELS, 32, 4, PaddingConfig2d::Explicit(3, 3, 3, 3)),
            conv2: conv(32, 32, 3, same()),
            pool1: pool(),
            conv3: conv(32, 64, 3, same()),
            conv4: conv(64, 64, 3, same()),
            conv5: conv(64, 64, 3, same()),
            pool2: pool(),
            fc1: LinearConfig::new(FINAL_SIDE * FINAL_SIDE * FINAL_CHANNELS, HIDDEN).init(device),
            bn_gamma: Param::from_tensor(Tensor::ones([N_FEATURES], device)),
            bn_beta: Param::from_tensor(Tensor::zeros([N_FEATURES], device)),
            bn_moving_mean: Param::from_tensor(Tensor::zeros([N_FEATURES], device)),
            bn_moving_variance: Param::from_tensor(Tensor::ones([N_FEATURES], device)),
            fc2: LinearConfig::new(HIDDEN + N_FEATURES, HIDDEN).init(device),
            fc3: LinearConfig::new(HIDDEN, HIDDEN).init(device),
            logits: LinearConfig::new(HIDDEN, ALERCE_CLASSES.len()).init(device),
        }
    }

    /// Loads the TensorFlow weights exported to safetensors (TF layouts: conv HWIO, dense
    /// `[in, out]`).
    pub fn from_safetensors(path: &Path, device: &Device) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|source| {
            ModelError::NotSafetensors {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let weights = Weights { path, file, device };

        let mut model = Self::new(device);
        for (name, conv) in [
            ("conv1", &mut model.conv1),
            ("conv2", &mut model.conv2),
            ("conv3", &mut model.conv3),
            ("conv4", &mut model.conv4),
            ("conv5", &mut model.conv5),
        ] {
            let [cout, cin, kh, kw] = conv.weight.dims();
            // HWIO -> OIHW.
            let w: Tensor<4> = weights
                .get(&format!("{name}.weight"), [kh, kw, cin, cout])?
                .permute([3, 2, 0, 1]);
            conv.weight = Param::from_tensor(w);
            conv.bias = Some(Param::from_tensor(
                weights.get(&format!("{name}.bias"), [cout])?,
            ));
        }
        for (name, linear) in [
            ("fc1", &mut model.fc1),
            ("fc2", &mut model.fc2),
            ("fc3", &mut model.fc3),
            ("logits", &mut model.logits),
        ] {
            // Burn's Linear (row layout) stores `[d_input, d_output]` and computes x W + b,
            // which is TF's layout already.
            let [d_in, d_out] = linear.weight.dims();
            linear.weight =
                Param::from_tensor(weights.get(&format!("{name}.weight"), [d_in, d_out])?);
            linear.bias = Some(Param::from_tensor(
                weights.get(&format!("{name}.bias"), [d_out])?,
            ));
        }
        model.bn_gamma = Param::from_tensor(weights.get("bn_features.gamma", [N_FEATURES])?);
        model.bn_beta = Param::from_tensor(weights.get("bn_features.beta", [N_FEATURES])?);
        model.bn_moving_mean =
            Param::from_tensor(weights.get("bn_features.moving_mean", [N_FEATURES])?);
        model.bn_moving_variance =
            Param::from_tensor(weights.get("bn_features.moving_variance", [N_FEATURES])?);
        Ok(model)
    }

    /// The 64-wide stamp embedding of `[B, 21, 21, 3]` (NHWC) stamps, averaged over the four
    /// rotations: `[B, 64]`.
    pub fn embed(&self, stamps: Tensor<4>) -> Tensor<2> {
        let [b, _, _, _] = stamps.dims();
        let x = stamps.permute([0, 3, 1, 2]);
        // Row k*B + b is rotation k of stamp b, as ALeRCE's tf.data pipeline lays it out.
        let mut rotations = Vec::with_capacity(N_ROTATIONS);
        let mut r = x;
        for _ in 0..N_ROTATIONS {
            rotations.push(r.clone());
            r = rot90(r);
        }
        let x = Tensor::cat(rotations, 0);

        let x = relu(self.conv1.forward(x));
        let x = relu(self.conv2.forward(x));
        let x = self.pool1.forward(x);
        let x = relu(self.conv3.forward(x));
        let x = relu(self.conv4.forward(x));
        let x = relu(self.conv5.forward(x));
        let x = self.pool2.forward(x);
        // fc1's rows are in TF's NHWC flatten order.
        let x = x
            .permute([0, 2, 3, 1])
            .reshape([N_ROTATIONS * b, FINAL_SIDE * FINAL_SIDE * FINAL_CHANNELS]);
        let x = relu(self.fc1.forward(x));
        x.reshape([N_ROTATIONS, b, HIDDEN])
            .mean_dim(0)
            .reshape([b, HIDDEN])
    }

    /// Logits `[B, 5]` from NHWC stamps `[B, 21, 21, 3]` and normalised features `[B, 26]`.
    pub fn forward(&self, stamps: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        self.forward_embedded(self.embed(stamps), features)
    }

    /// Logits `[B, 5]` from the stamp embeddings `[B, 64]` ([`Self::embed`], or the CPU
    /// path's [`CpuEncoder::embed`]) and normalised features `[B, 26]`.
    pub fn forward_embedded(&self, embedding: Tensor<2>, features: Tensor<2>) -> Tensor<2> {
        let features = self.batch_norm(features);
        let x = Tensor::cat(vec![embedding, features], 1);
        let x = relu(self.fc2.forward(x));
        let x = relu(self.fc3.forward(x));
        self.logits.forward(x)
    }

    /// Class probabilities `[B, 5]`, in [`ALERCE_CLASSES`] order.
    pub fn probabilities(&self, stamps: Tensor<4>, features: Tensor<2>) -> Tensor<2> {
        softmax(self.forward(stamps, features), 1)
    }

    /// Runs the network on host data: `stamps` is `B x 21 x 21 x 3` preprocessed pixels (NHWC,
    /// as [`crate::stamp::model_stamps`] makes them), `features` `B x 26` normalised features.
    pub fn predict(
        &self,
        stamps: &[f32],
        features: &[f32],
        device: &Device,
    ) -> Result<Prediction, ModelError> {
        self.predict_with(stamps, features, device, None)
    }

    /// [`Self::predict`], with the conv stack on the CPU inference path when `cpu` is given
    /// (made by [`Self::cpu_encoder`]); the layers after the embedding run on `device`.
    pub fn predict_with(
        &self,
        stamps: &[f32],
        features: &[f32],
        device: &Device,
        cpu: Option<&CpuEncoder>,
    ) -> Result<Prediction, ModelError> {
        let per_stamp = ALERCE_CROP * ALERCE_CROP * CHANNELS;
        if !stamps.len().is_multiple_of(per_stamp) {
            return Err(ModelError::Input(format!(
                "{} stamp values is not a whole number of {per_stamp}-value stamps",
                stamps.len()
            )));
        }
        let b = stamps.len() / per_stamp;
        if features.len() != b * N_FEATURES {
            return Err(ModelError::Input(format!(
                "{} feature values for {b} stamps, expected {}",
                features.len(),
                b * N_FEATURES
            )));
        }
        if b == 0 {
            return Ok(Prediction::default());
        }
        let features =
            Tensor::<2>::from_data(TensorData::new(features.to_vec(), [b, N_FEATURES]), device);
        let embedding = match cpu {
            Some(cpu) => {
                let embedding = cpu.embed(stamps).map_err(ModelError::CpuInput)?;
                Tensor::<2>::from_data(TensorData::new(embedding, [b, HIDDEN]), device)
            }
            None => self.embed(Tensor::<4>::from_data(
                TensorData::new(stamps.to_vec(), [b, ALERCE_CROP, ALERCE_CROP, CHANNELS]),
                device,
            )),
        };
        let logits = self.forward_embedded(embedding, features);
        let probs = softmax(logits.clone(), 1);
        Ok(Prediction {
            logits: rows(logits)?,
            probabilities: rows(probs)?,
        })
    }
}

impl AlerceStampClassifier {
    /// The conv stack and `fc1` with their weights in the CPU inference path's layouts.
    pub fn cpu_encoder(&self) -> Result<CpuEncoder, CpuInferError> {
        let conv = StackLayer::Conv;
        CpuEncoder::from_stack(StackRef {
            layers: vec![
                conv(&self.conv1),
                conv(&self.conv2),
                StackLayer::Pool(&self.pool1),
                conv(&self.conv3),
                conv(&self.conv4),
                conv(&self.conv5),
                StackLayer::Pool(&self.pool2),
            ],
            dense: &self.fc1,
            crop: ALERCE_CROP,
            channels: CHANNELS,
            dihedral: false,
        })
    }
}

/// `np.rot90(x, 1, axes=(H, W))` on NCHW: counter-clockwise, i.e. mirror the columns, then
/// transpose.
fn rot90(x: Tensor<4>) -> Tensor<4> {
    x.flip([3]).swap_dims(2, 3)
}

impl AlerceStampClassifier {
    /// Inference BatchNorm, in the order TF computes it: `x * inv + (beta - mean * inv)` with
    /// `inv = gamma / sqrt(var + eps)`.
    fn batch_norm(&self, x: Tensor<2>) -> Tensor<2> {
        let inv = self.bn_gamma.val() / self.bn_moving_variance.val().add_scalar(BN_EPS).sqrt();
        let shift = self.bn_beta.val() - self.bn_moving_mean.val() * inv.clone();
        x * inv.unsqueeze::<2>() + shift.unsqueeze::<2>()
    }
}

fn rows(t: Tensor<2>) -> Result<Vec<[f32; 5]>, ModelError> {
    let values = t
        .try_into_data()
        .map_err(|e| ModelError::Device(e.into()))?
        .try_into_vec_as::<f32>()
        .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
    Ok(values
        .chunks_exact(ALERCE_CLASSES.len())
        .map(|c| [c[0], c[1], c[2], c[3], c[4]])
        .collect())
}

struct Weights<'a> {
    path: &'a Path,
    file: safetensors::SafeTensors<'a>,
    device: &'a Device,
}

impl Weights<'_> {
    /// One float32 tensor of exactly `shape`.
    fn get<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, ModelError> {
        let t = self
            .file
            .tensor(name)
            .map_err(|_| ModelError::MissingTensor {
                path: self.path.to_path_buf(),
                tensor: name.to_string(),
            })?;
        if t.dtype() != safetensors::Dtype::F32 || t.shape() != shape {
            return Err(ModelError::WrongTensor {
                path: self.path.to_path_buf(),
                tensor: name.to_string(),
                dtype: format!("{:?}", t.dtype()),
                shape: t.shape().to_vec(),
                expected: shape.to_vec(),
            });
        }
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            self.device,
        ))
    }
}
