//! The networks training drives: the model enum, its batches (padding, augmentation,
//! micro-batches), the device's reduction limit, the loss and its gradients, reading and
//! writing the checkpoints.

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::RngExt;
use std::path::Path;

use super::config::ModelChoice;
use super::dataset::Object;
use super::TrainError;
use crate::features::FeatureStats;
use crate::model::file::{self, ModelHeader};
use crate::model::probs::argmax;
use crate::model::{confidence_penalty_loss, EnhancedStampClassifier, TemporalStampClassifier};
use crate::stamp::Dihedral;

// One per loaded model: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub(super) enum Net {
    Temporal(TemporalStampClassifier),
    Enhanced(EnhancedStampClassifier),
}

pub(super) fn init_net(model: &ModelChoice, device: &Device) -> Result<Net, TrainError> {
    Ok(match model {
        ModelChoice::Temporal(c) => Net::Temporal(c.init(device)?),
        ModelChoice::Enhanced(c) => Net::Enhanced(c.init(device)?),
        ModelChoice::Trees(_) => {
            return Err(TrainError::Config {
                reason: "tree models are trained by train::trees, not as networks".into(),
            })
        }
    })
}

/// A network from a model file written by [`super::train`], with its header and architecture.
pub(super) fn read_net(
    path: &Path,
    device: &Device,
) -> Result<(Net, ModelHeader, ModelChoice), TrainError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let header = file::header_from_bytes(&bytes, path)?;
    let arch: ModelChoice =
        serde_json::from_value(header.architecture.clone()).map_err(|source| {
            TrainError::Architecture {
                path: path.into(),
                source,
            }
        })?;
    let mut net = init_net(&arch, device)?;
    match &mut net {
        Net::Temporal(m) => file::load_weights(m, bytes, &header, path)?,
        Net::Enhanced(m) => file::load_weights(m, bytes, &header, path)?,
    }
    Ok((net, header, arch))
}

/// Host tensors of a batch of objects, padded to the longest.
pub(super) struct Batch {
    pub(super) b: usize,
    pub(super) t: usize,
    pub(super) stamps: Vec<f32>,
    pub(super) features: Vec<f32>,
    pub(super) days: Vec<f32>,
    pub(super) targets: Vec<i64>,
    pub(super) mask: Vec<f32>,
}

/// Random changes to the training objects: a dihedral transform of the stamps, optionally
/// a smaller centred window of them, and optionally features read as missing.
pub(super) struct Augment<'a> {
    pub(super) rng: &'a mut StdRng,
    pub(super) window_min: Option<usize>,
    /// The chance of each feature being read as missing for the whole object.
    pub(super) feature_dropout: f64,
}

/// Sets everything outside the centred `side` x `side` window of an HWC stamp to 0.
fn keep_window(stamp: &mut [f32], crop: usize, side: usize) {
    let lo = (crop - side) / 2;
    let hi = lo + side;
    for (i, px) in stamp.chunks_exact_mut(3).enumerate() {
        let (r, c) = (i / crop, i % crop);
        if r < lo || r >= hi || c < lo || c >= hi {
            px.fill(0.0);
        }
    }
}

pub(super) fn make_batch(
    objects: &[&Object],
    crop: usize,
    stats: &FeatureStats,
    mut augment: Option<Augment>,
) -> Batch {
    let b = objects.len();
    let t = objects.iter().map(|o| o.steps()).max().unwrap_or(1).max(1);
    let f = stats.len();
    let per = crop * crop * 3;
    let mut batch = Batch {
        b,
        t,
        stamps: vec![0.0; b * t * per],
        features: vec![0.0; b * t * f],
        days: vec![0.0; b * t],
        targets: vec![0; b * t],
        mask: vec![0.0; b * t],
    };
    for (i, o) in objects.iter().enumerate() {
        // One transform for all of an object's stamps: they share the sky orientation.
        let transform = augment.as_mut().map(|a| {
            let all = Dihedral::all();
            all[a.rng.random_range(0..all.len())]
        });
        let window = augment.as_mut().and_then(|a| {
            let min = a.window_min?.clamp(1, crop);
            Some(a.rng.random_range(min..=crop))
        });
        // Drawn only when asked for, so that runs without it draw what they drew before.
        let missing: Option<Vec<bool>> =
            augment
                .as_mut()
                .filter(|a| a.feature_dropout > 0.0)
                .map(|a| {
                    let p = a.feature_dropout.min(1.0);
                    (0..f).map(|_| a.rng.random_bool(p)).collect()
                });
        for k in 0..t {
            let slot = i * t + k;
            batch.targets[slot] = o.class as i64;
            // Padding repeats the last time so that the time input stays monotone.
            let src = k.min(o.steps() - 1);
            batch.days[slot] = o.days[src];
            if k >= o.steps() {
                continue;
            }
            batch.mask[slot] = 1.0;
            let stamp = &o.stamps[k * per..(k + 1) * per];
            let dst = &mut batch.stamps[slot * per..(slot + 1) * per];
            match transform {
                Some(tr) if tr != Dihedral::IDENTITY => {
                    dst.copy_from_slice(&tr.apply(stamp, crop, 3))
                }
                _ => dst.copy_from_slice(stamp),
            }
            if let Some(side) = window.filter(|&w| w < crop) {
                keep_window(dst, crop, side);
            }
            let norm = stats.normalize(&o.raw[k * f..(k + 1) * f]);
            for (j, (d, v)) in batch.features[slot * f..(slot + 1) * f]
                .iter_mut()
                .zip(norm)
                .enumerate()
            {
                let read_as_missing = missing.as_ref().is_some_and(|m| m[j]);
                *d = if read_as_missing { 0.0 } else { v as f32 };
            }
        }
    }
    batch
}

impl Batch {
    /// Objects `range` of the batch, keeping its step count so slots line up.
    fn objects(&self, range: std::ops::Range<usize>) -> Batch {
        let t = self.t;
        let per = self.stamps.len() / (self.b * t).max(1);
        let f = self.features.len() / (self.b * t).max(1);
        let (lo, hi) = (range.start * t, range.end * t);
        Batch {
            b: range.len(),
            t,
            stamps: self.stamps[lo * per..hi * per].to_vec(),
            features: self.features[lo * f..hi * f].to_vec(),
            days: self.days[lo..hi].to_vec(),
            targets: self.targets[lo..hi].to_vec(),
            mask: self.mask[lo..hi].to_vec(),
        }
    }
}

/// Longest reduction that wgpu is known to compute correctly everywhere: on Mesa's lavapipe,
/// sums along an axis longer than 65,536 elements come out wrong (STACK.md), and a
/// convolution's weight and bias gradients sum over objects x steps x transforms x height x
/// width. A device that passes [`exact_reduction_limit`]'s probe is trusted further.
pub const WGPU_MAX_REDUCTION: usize = 65_536;

/// The longest reduction [`exact_reduction_limit`] tries: a full-size batch (32 objects x 5
/// steps x 4 rotations x 27 x 27) needs 466,560.
pub const PROBED_MAX_REDUCTION: usize = WGPU_MAX_REDUCTION << 6;

/// The longest reduction `device` computes exactly: unbounded on the CPU backends; on a GPU
/// backend the longest of 65,536 x 2^k (k = 1..6) along which a sum and a matrix product of
/// small integers come out exact, every shorter one too, else [`WGPU_MAX_REDUCTION`]. A real
/// GPU passes where lavapipe fails, and then trains in whole batches instead of slices
/// (fewer, larger kernels). Probed once per device and process, in well under a second.
pub fn exact_reduction_limit(device: &Device) -> usize {
    use std::sync::Mutex;
    static PROBED: Mutex<Vec<(Device, usize)>> = Mutex::new(Vec::new());
    if is_cpu_device(device) {
        return usize::MAX;
    }
    let plain = device.clone().inner();
    let mut probed = PROBED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, limit)) = probed.iter().find(|(d, _)| *d == plain) {
        return *limit;
    }
    let mut limit = WGPU_MAX_REDUCTION;
    let mut length = WGPU_MAX_REDUCTION * 2;
    while length <= PROBED_MAX_REDUCTION && reductions_are_exact(length, &plain) {
        limit = length;
        length *= 2;
    }
    probed.push((plain, limit));
    limit
}

/// A sum along an axis of `length` and a matrix product with an inner dimension of `length`,
/// of integers small enough that every partial sum is exact in f32, against the host's.
fn reductions_are_exact(length: usize, device: &Device) -> bool {
    let value = |row: usize, i: usize| ((i * 7 + row) % 3) as f32;
    let rows: Vec<f32> = (0..2)
        .flat_map(|r| (0..length).map(move |i| value(r, i)))
        .collect();
    let exact = |row: usize, power: i32| -> f64 {
        (0..length)
            .map(|i| f64::from(value(row, i)).powi(power))
            .sum()
    };
    let lhs = Tensor::<2>::from_data(TensorData::new(rows.clone(), [2, length]), device);
    let sums = host(lhs.clone().sum_dim(1));
    let rhs = Tensor::<2>::from_data(TensorData::new(rows, [2, length]), device).transpose();
    // The product's diagonal is each row's sum of squares.
    let products = host(lhs.matmul(rhs));
    let (Ok(sums), Ok(products)) = (sums, products) else {
        return false;
    };
    let close = |got: f32, want: f64| (f64::from(got) - want).abs() <= 1e-6 * want.max(1.0);
    sums.len() == 2
        && products.len() == 4
        && close(sums[0], exact(0, 1))
        && close(sums[1], exact(1, 1))
        && close(products[0], exact(0, 2))
        && close(products[3], exact(1, 2))
}

/// Whether `device` is one of burn's CPU backends, whose reductions are exact at any length.
pub fn is_cpu_device(device: &Device) -> bool {
    let plain = device.clone().inner();
    #[cfg(feature = "ndarray")]
    if plain == Device::ndarray() {
        return true;
    }
    plain == Device::flex()
}

/// Objects per backward pass for batches of `steps` detections: the whole batch on the CPU;
/// on a GPU backend as many as keep the first convolution's gradient reductions within
/// [`exact_reduction_limit`] (at least one object, which a single very large object can still
/// exceed: the steps of one object feed one temporal head and cannot be split).
pub fn micro_batch_size(model: &ModelChoice, batch: usize, steps: usize, device: &Device) -> usize {
    if is_cpu_device(device) {
        return batch.max(1);
    }
    let encoder = match model {
        ModelChoice::Temporal(c) => &c.encoder,
        ModelChoice::Enhanced(c) => &c.encoder,
        ModelChoice::Trees(_) => return batch.max(1),
    };
    // The zero-padded input is the largest map a convolution sums over (the first conv's
    // output is a few pixels smaller; later ones are pooled).
    let side = encoder.crop + 2 * encoder.first_padding;
    let per_object = (steps * encoder.n_transforms() * side * side).max(1);
    let batch = batch.max(1);
    let most = (exact_reduction_limit(device) / per_object).clamp(1, batch);
    // Equal parts (24 objects at most 7 a pass: 4 x 6, not 7+7+7+3): each new tensor shape
    // costs a kernel autotune on a GPU backend.
    batch.div_ceil(batch.div_ceil(most))
}

pub(super) fn logits(
    net: &Net,
    batch: &Batch,
    crop: usize,
    n_features: usize,
    device: &Device,
) -> Tensor<3> {
    let (b, t) = (batch.b, batch.t);
    let stamps = Tensor::<5>::from_data(
        TensorData::new(batch.stamps.clone(), [b, t, crop, crop, 3]),
        device,
    );
    let features = Tensor::<3>::from_data(
        TensorData::new(batch.features.clone(), [b, t, n_features]),
        device,
    );
    match net {
        Net::Temporal(m) => {
            let days = Tensor::<2>::from_data(TensorData::new(batch.days.clone(), [b, t]), device);
            m.forward(stamps, features, days, None)
        }
        Net::Enhanced(m) => {
            let out = m.forward(
                stamps.reshape([b * t, crop, crop, 3]),
                features.reshape([b * t, n_features]),
            );
            let c = out.dims()[1];
            out.reshape([b, t, c])
        }
    }
}

pub(super) fn loss_of(logits: Tensor<3>, batch: &Batch, beta: f64, device: &Device) -> Tensor<1> {
    let targets = Tensor::<2, Int>::from_data(
        TensorData::new(batch.targets.clone(), [batch.b, batch.t]),
        device,
    );
    let mask = Tensor::<2>::from_data(
        TensorData::new(batch.mask.clone(), [batch.b, batch.t]),
        device,
    );
    confidence_penalty_loss(logits, targets, mask, beta)
}

/// The mean loss of `batch` over its valid steps, its logits on the host, and the gradients,
/// computed `micro` objects at a time: each micro-batch's loss is weighted by its share of the
/// valid steps, so the summed gradients are the whole batch's.
pub(super) fn batch_gradients(
    net: &Net,
    batch: &Batch,
    micro: usize,
    beta: f64,
    crop: usize,
    n_features: usize,
    device: &Device,
) -> Result<(f32, Vec<f32>, GradientsParams), TrainError> {
    let total: f32 = batch.mask.iter().sum::<f32>().max(1.0);
    let micro = micro.clamp(1, batch.b.max(1));
    let mut accumulator = GradientsAccumulator::<Net>::new();
    let mut loss_value = 0.0;
    let mut logits_host = Vec::new();
    for lo in (0..batch.b).step_by(micro) {
        let part = (micro < batch.b).then(|| batch.objects(lo..(lo + micro).min(batch.b)));
        let part = part.as_ref().unwrap_or(batch);
        let share: f32 = part.mask.iter().sum::<f32>() / total;
        let out = logits(net, part, crop, n_features, device);
        let loss = loss_of(out.clone(), part, beta, device).mul_scalar(share);
        loss_value += host(loss.clone())?[0];
        logits_host.extend(host(out)?);
        let grads = loss.backward();
        accumulator.accumulate(net, GradientsParams::from_grads(grads, net));
    }
    Ok((loss_value, logits_host, accumulator.grads()))
}

pub(super) fn host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    t.try_into_data()
        .map_err(|e| TrainError::Data(format!("reading back from the device: {e:?}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| TrainError::Data(format!("reading back from the device: {e:?}")))
}

/// Correct predictions over the valid steps of a training batch.
pub(super) fn correct(
    logits: &[f32],
    batch: &Batch,
    classes: usize,
    objects: &[&Object],
) -> (usize, usize) {
    let (mut right, mut total) = (0, 0);
    for (i, o) in objects.iter().enumerate() {
        for k in 0..o.steps() {
            let slot = i * batch.t + k;
            let row = &logits[slot * classes..(slot + 1) * classes];
            right += usize::from(argmax(row) == Some(o.class));
            total += 1;
        }
    }
    (right, total)
}

pub(super) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.into(),
        source,
    }
}

pub(super) fn write_net(net: &Net, header: &ModelHeader, path: &Path) -> Result<(), TrainError> {
    match net {
        Net::Temporal(m) => file::write_model(m, header, path)?,
        Net::Enhanced(m) => file::write_model(m, header, path)?,
    }
    Ok(())
}

/// Collects every parameter's gradient, in module order, into one vector.
struct FlattenGradients<'a> {
    grads: &'a GradientsParams,
    out: Vec<f32>,
    missing: usize,
}

impl burn::module::ModuleVisitor for FlattenGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        match self
            .grads
            .get::<D>(param.id)
            .and_then(|g| g.into_data().try_into_vec::<f32>().ok())
        {
            Some(v) => self.out.extend(v),
            None => self.missing += 1,
        }
    }
}

/// The loss and the gradients (one flat vector, parameters in module order) of one batch of
/// `objects` for the trained model in `model_file`, computed `micro` objects at a time on
/// `device` (an autodiff device), without augmentation. For checking that a backend's
/// gradients, micro-batched as training does it, agree with the CPU's.
pub fn batch_gradient_vector(
    model_file: &Path,
    objects: &[&Object],
    beta: f64,
    micro: usize,
    device: &Device,
) -> Result<(f32, Vec<f32>), TrainError> {
    let (net, header, arch) = read_net(model_file, device)?;
    let crop = arch.crop();
    let stats = &header.feature_stats;
    let batch = make_batch(objects, crop, stats, None);
    let (loss, _, grads) = batch_gradients(&net, &batch, micro, beta, crop, stats.len(), device)?;
    let mut flat = FlattenGradients {
        grads: &grads,
        out: Vec::new(),
        missing: 0,
    };
    net.visit(&mut flat);
    if flat.missing > 0 {
        return Err(TrainError::Data(format!(
            "{} parameters received no gradient",
            flat.missing
        )));
    }
    Ok((loss, flat.out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reduction_probe_passes_an_exact_backend_at_every_length_it_tries() {
        // The probe's own arithmetic, on burn's CPU backend (exact at any length): were it
        // wrong, every GPU would be held to lavapipe's limit.
        let cpu = Device::flex();
        let mut length = WGPU_MAX_REDUCTION * 2;
        while length <= PROBED_MAX_REDUCTION {
            assert!(reductions_are_exact(length, &cpu), "length {length}");
            length *= 2;
        }
        assert_eq!(exact_reduction_limit(&cpu), usize::MAX);
    }

    #[test]
    fn keep_window_zeroes_outside_the_centred_window() {
        let crop = 5;
        let mut stamp = vec![1.0f32; crop * crop * 3];
        keep_window(&mut stamp, crop, 3);
        assert_eq!(stamp.iter().sum::<f32>(), 27.0);
        for r in 0..crop {
            for c in 0..crop {
                let inside = (1..4).contains(&r) && (1..4).contains(&c);
                assert_eq!(
                    stamp[(r * crop + c) * 3 + 2],
                    if inside { 1.0 } else { 0.0 }
                );
            }
        }
        let mut whole = vec![1.0f32; crop * crop * 3];
        keep_window(&mut whole, crop, crop);
        assert!(whole.iter().all(|&v| v == 1.0));
    }

    /// Feature dropout reads a feature as missing for all of an object's detections, drops
    /// about the share asked for, and at 0 draws nothing.
    #[test]
    fn feature_dropout_reads_a_feature_as_missing_for_the_whole_object() {
        use rand::SeedableRng;
        let (f, crop, steps) = (10, 3, 3);
        let stats = FeatureStats {
            names: (0..f).map(|i| format!("f{i}")).collect(),
            mean: vec![0.0; f],
            std: vec![1.0; f],
            clip_lo: vec![f64::NEG_INFINITY; f],
            clip_hi: vec![f64::INFINITY; f],
            neutralised: Vec::new(),
        };
        // Every raw value 1, so a 0 in the batch is a feature read as missing.
        let objects: Vec<Object> = (0..200)
            .map(|i| Object {
                object_id: format!("o{i}"),
                class: 0,
                days: vec![0.0, 1.0, 2.0],
                raw: vec![1.0; steps * f],
                stamps: vec![0.5; steps * crop * crop * 3],
            })
            .collect();
        let refs: Vec<&Object> = objects.iter().collect();
        let batch_with = |p: f64, rng: &mut StdRng| {
            make_batch(
                &refs,
                crop,
                &stats,
                Some(Augment {
                    rng,
                    window_min: None,
                    feature_dropout: p,
                }),
            )
        };

        let mut rng = StdRng::seed_from_u64(7);
        let dropped = batch_with(0.2, &mut rng);
        let mut zeros = 0;
        for o in 0..objects.len() {
            let first = &dropped.features[o * steps * f..(o * steps + 1) * f];
            for k in 1..steps {
                let at = (o * steps + k) * f;
                assert_eq!(&dropped.features[at..at + f], first, "object {o}, step {k}");
            }
            zeros += first.iter().filter(|&&v| v == 0.0).count();
        }
        let share = zeros as f64 / (objects.len() * f) as f64;
        assert!(
            (0.15..0.25).contains(&share),
            "share read as missing {share}"
        );

        let mut a = StdRng::seed_from_u64(7);
        let none = batch_with(0.0, &mut a);
        assert!(none.features.iter().all(|&v| v == 1.0));
        // At 0 the generator gives only the stamps' transforms, one an object, as it did
        // before feature dropout: runs without it draw what they drew.
        let mut b = StdRng::seed_from_u64(7);
        for _ in &objects {
            b.random_range(0..Dihedral::all().len());
        }
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }

    #[test]
    fn a_micro_batched_batch_keeps_its_slots() {
        let batch = Batch {
            b: 3,
            t: 2,
            stamps: (0..3 * 2 * 12).map(|v| v as f32).collect(),
            features: (0..3 * 2 * 4).map(|v| v as f32).collect(),
            days: (0..6).map(|v| v as f32).collect(),
            targets: vec![0, 0, 1, 1, 2, 2],
            mask: vec![1.0, 0.0, 1.0, 1.0, 1.0, 0.0],
        };
        let part = batch.objects(1..3);
        assert_eq!((part.b, part.t), (2, 2));
        assert_eq!(part.targets, vec![1, 1, 2, 2]);
        assert_eq!(part.stamps[0], 24.0);
        assert_eq!(part.features[0], 8.0);
        assert_eq!(part.mask, vec![1.0, 1.0, 1.0, 0.0]);
    }
}
