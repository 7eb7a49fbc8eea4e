//! Training on wgpu gives the CPU's gradients. On Mesa's lavapipe (CI, and any machine
//! without a GPU) wgpu sums along axes longer than 65,536 elements wrongly, and a
//! convolution's weight gradient is such a sum; the trainer therefore splits batches into
//! micro-batches on a GPU backend whose probe finds such sums wrong
//! (`exact_reduction_limit`), and keeps them whole on one that computes them right. This
//! checks the gradients of a temporal model on real alerts, split as training splits them,
//! against burn's CPU backend. The network is small (one conv layer) because every new kernel
//! shape is autotuned, for minutes on lavapipe; the reduction it checks is as long as a
//! full-size model's first layer.

use burn::tensor::{Device, DeviceKind};
use stampseq::model::file::{write_model, ModelHeader, ModelKind};
use stampseq::model::{HeadConfig, StampEncoderConfig, TemporalStampClassifierConfig};
use stampseq::train::dataset::{feature_stats, Dataset, Object};
use stampseq::train::trainer::{
    batch_gradient_vector, exact_reduction_limit, micro_batch_size, WGPU_MAX_REDUCTION,
};
use stampseq::train::{ModelChoice, TrainConfig};
use std::path::PathBuf;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn wgpu_training_gradients_match_the_cpu() {
    if !crate::common::vulkan_device("wgpu_train::wgpu_training_gradients_match_the_cpu") {
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sample = repo.join("assets/sample");
    let classes: Vec<String> = ["AGN", "SN", "VS", "asteroid", "bogus"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let arch = ModelChoice::Temporal(TemporalStampClassifierConfig {
        encoder: StampEncoderConfig {
            blocks: vec![vec![4]],
            dense: 8,
            dropout: 0.0,
            ..StampEncoderConfig::default()
        },
        wise: false,
        head: HeadConfig::Gru,
        hidden: 8,
        ..TemporalStampClassifierConfig::default()
    });
    let config = TrainConfig {
        model: arch.clone(),
        classes: classes.clone(),
        max_detections: 5,
        data: vec![sample.clone()],
        labels: sample.join("labels.csv"),
        ..TrainConfig::default()
    };
    let crop = arch.crop();
    // The first convolution sums over the zero-padded stamp (ALeRCE: 21 + 2 x 3 pixels).
    let side = crop + 6;
    let (data, _) = Dataset::load(&config, crop, None).expect("sample alerts");
    assert!(
        data.objects.len() >= 4,
        "{} labelled objects",
        data.objects.len()
    );
    // Repeated objects make a batch long enough to cross the limit 3 times over.
    let objects: Vec<&Object> = data.objects.iter().cycle().take(24).collect();
    let steps = objects.iter().map(|o| o.steps()).max().unwrap_or(1);
    assert!(objects.len() * steps * 4 * side * side > 3 * WGPU_MAX_REDUCTION);

    // One set of weights for both backends, through a model file.
    let stats = feature_stats(&config.features, &objects);
    let arch = arch.settled(&classes, stats.len(), 5);
    let ModelChoice::Temporal(temporal) = &arch else {
        unreachable!("built as a temporal model")
    };
    let init_device = Device::flex();
    init_device.seed(7);
    let net = temporal.init(&init_device).expect("model");
    let class_refs: Vec<&str> = classes.iter().map(|c| c.as_str()).collect();
    let mut header = ModelHeader::new(ModelKind::Temporal, "tiny", &class_refs, crop, stats);
    header.architecture = serde_json::to_value(&arch).expect("architecture");
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("tiny.stampseq");
    write_model(&net, &header, &model).expect("model file");

    let cpu = Device::flex().autodiff();
    assert_eq!(
        micro_batch_size(&arch, objects.len(), steps, &cpu),
        objects.len()
    );
    let (cpu_loss, cpu_grads) =
        batch_gradient_vector(&model, &objects, 0.1, objects.len(), &cpu).expect("cpu gradients");

    let gpu = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    // Lavapipe fails the probe past 65,536 and the batch is split; a GPU that passes it
    // takes the batch whole. Either way the gradients must be the CPU's.
    let limit = exact_reduction_limit(&gpu);
    let micro = micro_batch_size(&arch, objects.len(), steps, &gpu);
    let whole = objects.len() * steps * 4 * side * side;
    if whole > limit {
        assert!(
            micro < objects.len(),
            "a batch past the device's limit is split"
        );
        assert!(micro * steps * 4 * side * side <= limit);
    } else {
        assert_eq!(
            micro,
            objects.len(),
            "a batch within the device's limit stays whole"
        );
    }
    let (gpu_loss, gpu_grads) =
        batch_gradient_vector(&model, &objects, 0.1, micro, &gpu).expect("wgpu gradients");
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    let scale = cpu_grads.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let diff = max_abs_diff(&cpu_grads, &gpu_grads);
    eprintln!(
        "{} gradients, max |g| {scale:e}; wgpu (exact reductions up to {limit}) in micro-batches of {micro}: max diff {diff:e}, loss {gpu_loss} vs {cpu_loss}",
        cpu_grads.len()
    );
    assert!(
        (gpu_loss - cpu_loss).abs() < 1e-4,
        "{gpu_loss} vs {cpu_loss}"
    );
    assert!(
        diff <= 1e-4 * scale.max(1e-3),
        "max diff {diff:e} for max |g| {scale:e}"
    );
}
