//! The Burn port of the ALeRCE stamp classifier against the probabilities of the original
//! TensorFlow graph (`alerce/reference_inputs.safetensors`, 580 real alerts).

use std::path::PathBuf;

use stampseq::backend::BackendChoice;
use stampseq::model::{AlerceStampClassifier, ModelError};

use crate::common::data_dir;

fn weights_path() -> PathBuf {
    data_dir().join("alerce/alerce_stamp_classifier.safetensors")
}

struct Reference {
    rows: usize,
    stamps: Vec<f32>,
    features: Vec<f32>,
    logits: Vec<f32>,
    probs: Vec<f32>,
}

fn reference() -> Reference {
    let bytes = std::fs::read(data_dir().join("alerce/reference_inputs.safetensors"))
        .expect("reference_inputs.safetensors");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("reference is safetensors");
    let f32s = |name: &str, shape: &[usize]| -> Vec<f32> {
        let t = file.tensor(name).expect(name);
        assert_eq!(t.dtype(), safetensors::Dtype::F32, "{name}");
        assert_eq!(t.shape(), shape, "{name}");
        t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let features = file.tensor("features").expect("features");
    assert_eq!(features.dtype(), safetensors::Dtype::F64);
    let rows = features.shape()[0];
    assert_eq!(rows, 580);
    Reference {
        rows,
        stamps: f32s("stamps", &[rows, 21, 21, 3]),
        // The network is float32 throughout, as was the TF graph.
        features: features
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect(),
        logits: f32s("tf_logits", &[rows, 5]),
        probs: f32s("tf_probs", &[rows, 5]),
    }
}

/// Max |ours - TF| of logits and probabilities over `rows` rows from the start, in batches.
fn max_errors(choice: BackendChoice, rows: usize, batch: usize) -> (f32, f32) {
    max_errors_on(choice, rows, batch, None)
}

/// [`max_errors`], the conv stack on the CPU inference path when `cpu_kernels` is given
/// (with Winograd or not for the 3x3 convolutions).
fn max_errors_on(
    choice: BackendChoice,
    rows: usize,
    batch: usize,
    cpu_kernels: Option<bool>,
) -> (f32, f32) {
    let device = choice.device();
    let model = AlerceStampClassifier::from_safetensors(&weights_path(), &device)
        .expect("load ALeRCE weights");
    let cpu = cpu_kernels.map(|winograd| {
        model
            .cpu_encoder()
            .expect("CPU path supports ALeRCE")
            .with_winograd(winograd)
    });
    let r = reference();
    let (per_stamp, per_feat) = (21 * 21 * 3, 26);
    let (mut max_logit, mut max_prob) = (0f32, 0f32);
    for start in (0..rows.min(r.rows)).step_by(batch) {
        let end = (start + batch).min(rows);
        let prediction = model
            .predict_with(
                &r.stamps[start * per_stamp..end * per_stamp],
                &r.features[start * per_feat..end * per_feat],
                &device,
                cpu.as_ref(),
            )
            .expect("predict");
        assert_eq!(prediction.probabilities.len(), end - start);
        let rows = prediction.logits.iter().zip(&prediction.probabilities);
        for (i, (l, p)) in rows.enumerate() {
            let row = start + i;
            for k in 0..5 {
                let dl = (l[k] - r.logits[row * 5 + k]).abs();
                let dp = (p[k] - r.probs[row * 5 + k]).abs();
                assert!(dl.is_finite() && dp.is_finite(), "row {row}: NaN");
                max_logit = max_logit.max(dl);
                max_prob = max_prob.max(dp);
            }
        }
    }
    (max_logit, max_prob)
}

#[test]
fn alerce_matches_tensorflow_on_all_reference_rows_cpu() {
    let (max_logit, max_prob) = max_errors(BackendChoice::Cpu, 580, 64);
    eprintln!("cpu: max |logit - tf| = {max_logit:e}, max |prob - tf| = {max_prob:e}");
    assert!(max_prob <= 1e-5, "max |prob - tf_prob| = {max_prob:e}");
    assert!(max_logit <= 1e-4, "max |logit - tf_logit| = {max_logit:e}");
}

#[test]
fn alerce_cpu_kernels_match_tensorflow_on_all_reference_rows() {
    for winograd in [true, false] {
        let (max_logit, max_prob) = max_errors_on(BackendChoice::Flex, 580, 128, Some(winograd));
        eprintln!(
            "cpu kernels, winograd {winograd}: max |logit - tf| = {max_logit:e}, max |prob - tf| = {max_prob:e}"
        );
        assert!(max_prob <= 1e-5, "max |prob - tf_prob| = {max_prob:e}");
        assert!(max_logit <= 1e-4, "max |logit - tf_logit| = {max_logit:e}");
    }
}

#[test]
fn alerce_predict_rejects_mismatched_inputs() {
    let device = BackendChoice::Cpu.device();
    let model = AlerceStampClassifier::from_safetensors(&weights_path(), &device).unwrap();
    let stamps = vec![0f32; 2 * 21 * 21 * 3];
    assert!(matches!(
        model.predict(&stamps, &[0f32; 26], &device),
        Err(ModelError::Input(_))
    ));
    assert!(matches!(
        model.predict(&stamps[1..], &[0f32; 52], &device),
        Err(ModelError::Input(_))
    ));
    let prediction = model.predict(&stamps, &[0f32; 52], &device).unwrap();
    assert_eq!(prediction.logits.len(), 2);
    assert_eq!(prediction.probabilities.len(), 2);
    let sum: f32 = prediction.probabilities[0].iter().sum();
    assert!((sum - 1.0).abs() < 1e-5);
}

#[test]
fn alerce_bad_weight_files_are_errors_not_panics() {
    let device = BackendChoice::Cpu.device();
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(weights_path()).unwrap();

    let missing = dir.path().join("missing.safetensors");
    let err = AlerceStampClassifier::from_safetensors(&missing, &device).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err}");

    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let err = AlerceStampClassifier::from_safetensors(&truncated, &device).unwrap_err();
    assert!(matches!(err, ModelError::NotSafetensors { .. }), "{err}");
    assert!(err.to_string().contains("truncated.safetensors"), "{err}");

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a model").unwrap();
    let err = AlerceStampClassifier::from_safetensors(&garbage, &device).unwrap_err();
    assert!(matches!(err, ModelError::NotSafetensors { .. }), "{err}");

    // A valid safetensors file with one tensor dropped and one of the wrong shape.
    let file = safetensors::SafeTensors::deserialize(&good).unwrap();
    let mut kept: Vec<(String, safetensors::tensor::TensorView)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| name != "fc2.weight")
        .collect();
    let without = dir.path().join("without_fc2.safetensors");
    std::fs::write(
        &without,
        safetensors::serialize(kept.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap(),
    )
    .unwrap();
    let err = AlerceStampClassifier::from_safetensors(&without, &device).unwrap_err();
    match &err {
        ModelError::MissingTensor { tensor, .. } => assert_eq!(tensor, "fc2.weight"),
        other => panic!("expected a missing tensor, got {other}"),
    }
    assert!(err.to_string().contains("fc2.weight"), "{err}");

    let small = vec![0u8; 4 * 5];
    kept.push((
        "fc2.weight".to_string(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![5], &small).unwrap(),
    ));
    let reshaped = dir.path().join("reshaped.safetensors");
    std::fs::write(
        &reshaped,
        safetensors::serialize(kept.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap(),
    )
    .unwrap();
    let err = AlerceStampClassifier::from_safetensors(&reshaped, &device).unwrap_err();
    match &err {
        ModelError::WrongTensor {
            tensor, expected, ..
        } => {
            assert_eq!(tensor, "fc2.weight");
            assert_eq!(expected, &[90, 64]);
        }
        other => panic!("expected a wrong-shape tensor, got {other}"),
    }
}

/// The same network on burn-wgpu. Without a GPU this runs on Mesa's lavapipe (Vulkan on the
/// CPU), which must be installed (`mesa-vulkan-drivers`); a small batch keeps every reduction
/// far below the 65,536-element length where lavapipe's `sum_dim` goes wrong.
#[test]
fn alerce_wgpu_matches_tensorflow_on_a_small_batch() {
    if !crate::common::vulkan_device("model::alerce_wgpu_matches_tensorflow_on_a_small_batch") {
        return;
    }
    let (max_logit, max_prob) = max_errors(BackendChoice::Wgpu, 8, 8);
    eprintln!("wgpu: max |logit - tf| = {max_logit:e}, max |prob - tf| = {max_prob:e}");
    assert!(max_prob <= 1e-4, "max |prob - tf_prob| = {max_prob:e}");
    assert!(max_logit <= 1e-3, "max |logit - tf_logit| = {max_logit:e}");
}
