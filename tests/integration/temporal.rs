//! The Temporal Stamp Classifier family on tiny configurations: causality of every temporal
//! head, learning on generated data with a learnable signal, the transform invariance of the
//! encoder, and the shapes of the enhanced single-alert classifier.

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use stampseq::model::{
    confidence_penalty_loss, wise_row, EnhancedStampClassifierConfig, HeadConfig, NetError,
    Positions, StampEncoderConfig, TemporalStampClassifier, TemporalStampClassifierConfig,
    TimeModulation,
};

const CROP: usize = 21;
const N_FEATURES: usize = 4;
const N_CLASSES: usize = 3;

fn tiny_encoder() -> StampEncoderConfig {
    StampEncoderConfig {
        crop: CROP,
        blocks: vec![vec![4], vec![8]],
        dense: 16,
        dropout: 0.0,
        ..StampEncoderConfig::default()
    }
}

fn config(head: HeadConfig) -> TemporalStampClassifierConfig {
    TemporalStampClassifierConfig {
        encoder: tiny_encoder(),
        n_features: N_FEATURES,
        time: TimeModulation::Log1p,
        wise: true,
        head,
        hidden: 16,
        max_steps: 8,
        dropout: 0.0,
        ..TemporalStampClassifierConfig::default()
    }
}

fn lstm() -> HeadConfig {
    HeadConfig::Lstm
}
fn gru() -> HeadConfig {
    HeadConfig::Gru
}
fn simple_rnn() -> HeadConfig {
    HeadConfig::SimpleRnn
}
fn gamma() -> HeadConfig {
    HeadConfig::GammaMemory { order: 2, mu: 0.5 }
}
fn conv1d() -> HeadConfig {
    HeadConfig::Conv1d { kernel: 2 }
}
fn tdnn() -> HeadConfig {
    HeadConfig::Tdnn { delays: 2 }
}
fn transformer() -> HeadConfig {
    HeadConfig::Transformer {
        layers: 1,
        heads: 2,
        positions: Positions::Learned,
    }
}
fn transformer_sinusoidal() -> HeadConfig {
    HeadConfig::Transformer {
        layers: 1,
        heads: 2,
        positions: Positions::Sinusoidal,
    }
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_data()
        .expect("readback")
        .try_into_vec_as::<f32>()
        .expect("f32 values")
}

fn normal(rng: &mut StdRng) -> f32 {
    StandardNormal.sample(rng)
}

/// Host inputs of `b` sequences of `t` detections.
#[derive(Clone)]
struct Batch {
    b: usize,
    t: usize,
    stamps: Vec<f32>,
    features: Vec<f32>,
    times: Vec<f32>,
    wise: Vec<f32>,
    labels: Vec<usize>,
    lengths: Vec<usize>,
}

impl Batch {
    fn tensors(&self, device: &Device) -> (Tensor<5>, Tensor<3>, Tensor<2>, Tensor<2>) {
        (
            tensor(self.stamps.clone(), [self.b, self.t, CROP, CROP, 3], device),
            tensor(self.features.clone(), [self.b, self.t, N_FEATURES], device),
            tensor(self.times.clone(), [self.b, self.t], device),
            tensor(self.wise.clone(), [self.b, 18], device),
        )
    }

    fn logits(&self, model: &TemporalStampClassifier, device: &Device) -> Tensor<3> {
        let (s, f, t, w) = self.tensors(device);
        model.try_forward(s, f, t, Some(w)).expect("inputs fit")
    }
}

const PER_STAMP: usize = CROP * CROP * 3;

/// Pure noise, for the causality tests.
fn random_batch(rng: &mut StdRng, b: usize, t: usize) -> Batch {
    let stamps = (0..b * t * PER_STAMP)
        .map(|_| rng.random::<f32>())
        .collect();
    let features = (0..b * t * N_FEATURES).map(|_| normal(rng)).collect();
    let mut times = Vec::with_capacity(b * t);
    for _ in 0..b {
        let mut mjd = 59000.0 + 100.0 * rng.random::<f32>();
        for _ in 0..t {
            times.push(mjd);
            mjd += 0.1 + 5.0 * rng.random::<f32>();
        }
    }
    let mut wise = Vec::with_capacity(b * 18);
    for _ in 0..b {
        let values: [Option<f32>; 9] =
            std::array::from_fn(|_| rng.random_bool(0.7).then(|| normal(rng)));
        wise.extend(wise_row(values));
    }
    Batch {
        b,
        t,
        stamps,
        features,
        times,
        wise,
        labels: vec![0; b],
        lengths: vec![t; b],
    }
}

/// Detections `from..` of every sequence replaced by other random ones (times still after the
/// earlier detections).
fn replace_after(batch: &Batch, from: usize, rng: &mut StdRng) -> Batch {
    let other = random_batch(rng, batch.b, batch.t);
    let mut out = batch.clone();
    for i in 0..batch.b {
        for k in from..batch.t {
            let s = (i * batch.t + k) * PER_STAMP;
            out.stamps[s..s + PER_STAMP].copy_from_slice(&other.stamps[s..s + PER_STAMP]);
            let f = (i * batch.t + k) * N_FEATURES;
            out.features[f..f + N_FEATURES].copy_from_slice(&other.features[f..f + N_FEATURES]);
            let previous = out.times[i * batch.t + k - 1];
            out.times[i * batch.t + k] = previous + 0.05 + 10.0 * rng.random::<f32>();
        }
    }
    out
}

fn check_causal(head: HeadConfig) {
    let device = Device::flex();
    device.seed(7);
    let name = head.name();
    let model = config(head).init(&device).expect("tiny config is valid");
    let mut rng = StdRng::seed_from_u64(11);
    let (b, t) = (3, 5);
    let batch = random_batch(&mut rng, b, t);
    let base = host(batch.logits(&model, &device));
    let at = |v: &[f32], i: usize, k: usize| {
        let o = (i * t + k) * N_CLASSES;
        v[o..o + N_CLASSES].to_vec()
    };
    for keep in 1..t {
        let changed = host(replace_after(&batch, keep, &mut rng).logits(&model, &device));
        let mut later = 0.0f32;
        for i in 0..b {
            for k in 0..t {
                let diff = at(&base, i, k)
                    .iter()
                    .zip(at(&changed, i, k))
                    .map(|(a, c)| (a - c).abs())
                    .fold(0.0, f32::max);
                if k < keep {
                    assert!(
                        diff <= 1e-5,
                        "{name}: step {k} moved by {diff} when detections {keep}.. changed"
                    );
                } else {
                    later = later.max(diff);
                }
            }
        }
        assert!(
            later > 1e-4,
            "{name}: changing detections {keep}.. left every later step as it was"
        );
    }
}

#[test]
fn causal_lstm() {
    check_causal(lstm());
}
#[test]
fn causal_gru() {
    check_causal(gru());
}
#[test]
fn causal_simple_rnn() {
    check_causal(simple_rnn());
}
#[test]
fn causal_gamma_memory() {
    check_causal(gamma());
}
#[test]
fn causal_conv1d() {
    check_causal(conv1d());
}
#[test]
fn causal_tdnn() {
    check_causal(tdnn());
}
#[test]
fn causal_transformer() {
    check_causal(transformer());
    check_causal(transformer_sinusoidal());
}

/// Generated objects with a learnable signal: a Gaussian blob in the difference channel whose
/// brightness and width depend on the class (visible from the first detection), and feature 0
/// following a class-dependent trend over time (visible from the second). Some sequences are
/// one detection shorter, padded with noise and masked.
fn signal_batch(rng: &mut StdRng, b: usize, t: usize) -> Batch {
    signal_batch_with(rng, b, t, true)
}

/// [`signal_batch`], optionally without the stamp signal, so only the trend over time tells
/// the classes apart.
fn signal_batch_with(rng: &mut StdRng, b: usize, t: usize, stamp_signal: bool) -> Batch {
    let mut batch = random_batch(rng, b, t);
    let centre = (CROP / 2) as f32;
    for i in 0..b {
        let class = rng.random_range(0..N_CLASSES);
        batch.labels[i] = class;
        batch.lengths[i] = if rng.random_bool(0.25) { t - 1 } else { t };
        let (amplitude, sigma) = [(0.3, 1.5), (0.7, 2.5), (1.0, 4.0)][class];
        let slope = [1.0, -1.0, 0.0][class];
        for k in 0..t {
            let s = (i * t + k) * PER_STAMP;
            for y in 0..CROP {
                for x in 0..CROP {
                    let r2 = (x as f32 - centre).powi(2) + (y as f32 - centre).powi(2);
                    let blob = if stamp_signal {
                        amplitude * (-r2 / (2.0 * sigma * sigma)).exp()
                    } else {
                        0.0
                    };
                    for c in 0..3 {
                        let noise = 0.1 * rng.random::<f32>();
                        batch.stamps[s + (y * CROP + x) * 3 + c] =
                            noise + if c == 2 { blob } else { 0.0 };
                    }
                }
            }
            let f = (i * t + k) * N_FEATURES;
            batch.features[f] = slope * k as f32 + 0.3 * normal(rng);
        }
    }
    batch
}

fn targets(batch: &Batch, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let mut labels = Vec::with_capacity(batch.b * batch.t);
    let mut mask = Vec::with_capacity(batch.b * batch.t);
    for i in 0..batch.b {
        for k in 0..batch.t {
            labels.push(batch.labels[i] as i64);
            mask.push(if k < batch.lengths[i] { 1.0 } else { 0.0 });
        }
    }
    (
        Tensor::from_data(TensorData::new(labels, [batch.b, batch.t]), device),
        tensor(mask, [batch.b, batch.t], device),
    )
}

const TRAIN_STEPS: usize = 60;
const TRAIN_BATCH: usize = 24;
const SEQ: usize = 3;

fn check_learns(head: HeadConfig) {
    let device = Device::flex().autodiff();
    device.seed(3);
    let name = head.name();
    let mut model = config(head).init(&device).expect("tiny config is valid");
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(5);
    let mut losses = Vec::with_capacity(TRAIN_STEPS);
    for _ in 0..TRAIN_STEPS {
        let batch = signal_batch(&mut rng, TRAIN_BATCH, SEQ);
        let (y, mask) = targets(&batch, &device);
        let loss = confidence_penalty_loss(batch.logits(&model, &device), y, mask, 0.1);
        losses.push(host(loss.clone())[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    let initial = losses[0];
    let last: f32 = losses[TRAIN_STEPS - 10..].iter().sum::<f32>() / 10.0;
    assert!(
        last < 0.6 * initial,
        "{name}: loss {initial} -> {last} (mean of the last 10 steps)"
    );

    let test = signal_batch(&mut StdRng::seed_from_u64(99), 60, SEQ);
    let logits = host(test.logits(&model, &device));
    let mut correct = 0;
    for i in 0..test.b {
        let k = test.lengths[i] - 1;
        let row = &logits[(i * SEQ + k) * N_CLASSES..(i * SEQ + k + 1) * N_CLASSES];
        let best = (0..N_CLASSES)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(0);
        correct += usize::from(best == test.labels[i]);
    }
    let accuracy = correct as f32 / test.b as f32;
    eprintln!("{name}: loss {initial:.3} -> {last:.3}, fresh-batch accuracy {accuracy:.2}");
    assert!(
        accuracy > 0.6,
        "{name}: accuracy {accuracy} on a fresh batch (chance 1/3), loss {initial} -> {last}"
    );
}

#[test]
fn learns_lstm() {
    check_learns(lstm());
}
#[test]
fn learns_gru() {
    check_learns(gru());
}
#[test]
fn learns_simple_rnn() {
    check_learns(simple_rnn());
}
#[test]
fn learns_gamma_memory() {
    check_learns(gamma());
}
#[test]
fn learns_conv1d() {
    check_learns(conv1d());
}
#[test]
fn learns_tdnn() {
    check_learns(tdnn());
}
#[test]
fn learns_transformer() {
    check_learns(transformer());
}

/// With noise stamps only the feature trend separates the classes: the head must combine
/// detections, so the last step beats chance while the first cannot.
#[test]
fn learns_from_the_trend_alone() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let mut model = config(gru()).init(&device).expect("valid");
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(6);
    for _ in 0..3 * TRAIN_STEPS {
        let batch = signal_batch_with(&mut rng, TRAIN_BATCH, SEQ, false);
        let (y, mask) = targets(&batch, &device);
        let loss = confidence_penalty_loss(batch.logits(&model, &device), y, mask, 0.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    let mut test = signal_batch_with(&mut StdRng::seed_from_u64(98), 90, SEQ, false);
    test.lengths = vec![SEQ; test.b];
    let logits = host(test.logits(&model, &device));
    let accuracy_at = |k: usize| {
        let correct = (0..test.b)
            .filter(|&i| {
                let row = &logits[(i * SEQ + k) * N_CLASSES..(i * SEQ + k + 1) * N_CLASSES];
                let best = (0..N_CLASSES)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0);
                best == test.labels[i]
            })
            .count();
        correct as f32 / test.b as f32
    };
    let (first, last) = (accuracy_at(0), accuracy_at(SEQ - 1));
    eprintln!("trend alone: accuracy {first:.2} after one detection, {last:.2} after {SEQ}");
    assert!(
        first < 0.55,
        "one detection carries no class signal, yet {first}"
    );
    assert!(last > 0.8, "accuracy after {SEQ} detections only {last}");
}

/// NHWC stamps transformed on the host: `np.rot90` (counter-clockwise) or a left-right mirror.
fn transform_host(stamps: &[f32], b: usize, rotate: bool) -> Vec<f32> {
    let mut out = vec![0.0; stamps.len()];
    for i in 0..b {
        for y in 0..CROP {
            for x in 0..CROP {
                let (sy, sx) = if rotate {
                    (x, CROP - 1 - y)
                } else {
                    (y, CROP - 1 - x)
                };
                for c in 0..3 {
                    out[i * PER_STAMP + (y * CROP + x) * 3 + c] =
                        stamps[i * PER_STAMP + (sy * CROP + sx) * 3 + c];
                }
            }
        }
    }
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn encoder_is_rotation_invariant() {
    let device = Device::flex();
    device.seed(21);
    let mut rng = StdRng::seed_from_u64(21);
    let b = 3;
    let stamps: Vec<f32> = (0..b * PER_STAMP).map(|_| rng.random::<f32>()).collect();
    let embed = |encoder: &stampseq::model::StampEncoder, s: &[f32]| {
        host(encoder.forward(tensor(s.to_vec(), [b, CROP, CROP, 3], &device)))
    };
    let rotated = transform_host(&stamps, b, true);
    let mirrored = transform_host(&stamps, b, false);

    let rotations = tiny_encoder().init(&device).expect("valid");
    let base = embed(&rotations, &stamps);
    assert!(base.iter().any(|&v| v > 1e-4), "embedding all zero");
    assert!(max_diff(&base, &embed(&rotations, &rotated)) <= 1e-5);
    assert!(
        max_diff(&base, &embed(&rotations, &mirrored)) > 1e-6,
        "four rotations alone should not make the embedding mirror invariant"
    );

    let dihedral = StampEncoderConfig {
        dihedral: true,
        ..tiny_encoder()
    }
    .init(&device)
    .expect("valid");
    let base = embed(&dihedral, &stamps);
    assert!(base.iter().any(|&v| v > 1e-4), "embedding all zero");
    assert!(max_diff(&base, &embed(&dihedral, &rotated)) <= 1e-5);
    assert!(max_diff(&base, &embed(&dihedral, &mirrored)) <= 1e-5);
    let both = transform_host(&rotated, b, false);
    assert!(max_diff(&base, &embed(&dihedral, &both)) <= 1e-5);
}

#[test]
fn enhanced_classifier_shapes_at_two_crops() {
    let device = Device::flex();
    for crop in [21, 33] {
        let config = EnhancedStampClassifierConfig {
            encoder: StampEncoderConfig {
                crop,
                ..tiny_encoder()
            },
            n_features: 5,
            dense: vec![8, 8],
            dropout: 0.0,
            classes: ["AGN", "SN", "VS", "asteroid"].map(String::from).to_vec(),
        };
        let model = config.init(&device).expect("valid");
        let stamps = Tensor::<4>::ones([2, crop, crop, 3], &device);
        let features = Tensor::<2>::zeros([2, 5], &device);
        let p = model
            .try_forward(stamps.clone(), features.clone())
            .expect("inputs fit");
        assert_eq!(p.dims(), [2, 4]);
        let p = host(model.probabilities(stamps, features));
        for row in p.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let wrong = Tensor::<4>::ones([2, crop + 2, crop + 2, 3], &device);
        assert!(matches!(
            model.try_forward(wrong, Tensor::zeros([2, 5], &device)),
            Err(NetError::Input(_))
        ));
    }
}

#[test]
fn temporal_shapes_probabilities_and_bad_inputs() {
    let device = Device::flex();
    let model = config(gru()).init(&device).expect("valid");
    let batch = random_batch(&mut StdRng::seed_from_u64(1), 2, 4);
    let (s, f, t, _) = batch.tensors(&device);
    // No AllWISE input at all is allowed: every value is treated as missing.
    let p = host(model.probabilities(s.clone(), f.clone(), t.clone(), None));
    assert_eq!(p.len(), 2 * 4 * N_CLASSES);
    for row in p.chunks(N_CLASSES) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let short_times = Tensor::<2>::zeros([2, 3], &device);
    assert!(matches!(
        model.try_forward(s, f, short_times, None),
        Err(NetError::Input(_))
    ));

    let bad = [
        TemporalStampClassifierConfig {
            classes: vec!["one".into()],
            ..config(gru())
        },
        config(HeadConfig::GammaMemory { order: 2, mu: 1.5 }),
        config(HeadConfig::Transformer {
            layers: 1,
            heads: 3,
            positions: Positions::Learned,
        }),
        TemporalStampClassifierConfig {
            encoder: StampEncoderConfig {
                crop: 3,
                blocks: vec![vec![4]; 4],
                ..tiny_encoder()
            },
            ..config(gru())
        },
    ];
    for c in bad {
        assert!(matches!(c.init(&device), Err(NetError::Config(_))), "{c:?}");
    }

    let json = serde_json::to_string(&config(transformer())).expect("serialises");
    let back: TemporalStampClassifierConfig = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, config(transformer()));
}

#[test]
fn temporal_loss_masks_and_penalises_confidence() {
    let device = Device::flex();
    // Uniform logits: CE = ln 3 and entropy = ln 3 at every step.
    let logits = Tensor::<3>::zeros([2, 3, 3], &device);
    let y =
        Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0, 1, 2], [2, 3]), &device);
    let mask = tensor(vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0], [2, 3], &device);
    let ln3 = 3f32.ln();
    let plain = host(confidence_penalty_loss(
        logits.clone(),
        y.clone(),
        mask.clone(),
        0.0,
    ))[0];
    assert!((plain - ln3).abs() < 1e-5);
    let penalised = host(confidence_penalty_loss(
        logits,
        y.clone(),
        mask.clone(),
        0.5,
    ))[0];
    assert!((penalised - 0.5 * ln3).abs() < 1e-5);
    // A masked step may hold anything.
    let mut v = vec![0.0f32; 18];
    v[2 * 3..3 * 3].copy_from_slice(&[100.0, -100.0, 0.0]);
    let masked = tensor(v, [2, 3, 3], &device);
    let with_junk = host(confidence_penalty_loss(masked, y, mask, 0.0))[0];
    assert!((with_junk - ln3).abs() < 1e-5);
}
