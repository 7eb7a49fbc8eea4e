//! Training on wgpu gives the CPU's gradients. On Mesa's lavapipe (CI, and any machine
//! without a GPU) wgpu sums along axes longer than 65,536 elements wrongly, and a
//! convolution's weight gradient is such a sum; the trainer therefore splits batches into
//! micro-batches on GPU backends. This checks the gradients of a real model on real alerts,
//! split as training splits them, against burn's CPU backend.

use burn::tensor::{Device, DeviceKind};
use stampseq::model::file::header_from_bytes;
use stampseq::train::dataset::{Dataset, Object};
use stampseq::train::trainer::{batch_gradient_vector, micro_batch_size};
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
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = repo.join("assets/models/tsc-gru-sim.stampseq");
    let bytes = std::fs::read(&model).expect("bundled model");
    let header = header_from_bytes(&bytes, &model).expect("header");
    let arch: ModelChoice = serde_json::from_value(header.architecture.clone()).expect("arch");
    let sample = repo.join("assets/sample");
    let config = TrainConfig {
        model: arch.clone(),
        classes: header.classes.clone(),
        max_detections: 5,
        data: vec![sample.clone()],
        labels: sample.join("labels.csv"),
        ..TrainConfig::default()
    };
    let (data, _) = Dataset::load(&config, arch.crop(), None).expect("sample alerts");
    assert!(
        data.objects.len() >= 4,
        "{} labelled objects",
        data.objects.len()
    );
    // Repeated objects make a batch long enough to cross the 65,536-element limit 3 times.
    let objects: Vec<&Object> = data.objects.iter().cycle().take(24).collect();
    let steps = objects.iter().map(|o| o.steps()).max().unwrap_or(1);
    let crop = arch.crop();
    assert!(objects.len() * steps * 4 * crop * crop > 3 * 65_536);

    let cpu = Device::flex().autodiff();
    assert_eq!(
        micro_batch_size(&arch, objects.len(), steps, &cpu),
        objects.len()
    );
    let (cpu_loss, cpu_grads) =
        batch_gradient_vector(&model, &objects, 0.1, objects.len(), &cpu).expect("cpu gradients");

    let gpu = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let micro = micro_batch_size(&arch, objects.len(), steps, &gpu);
    assert!(micro < objects.len(), "a GPU batch this long is split");
    let (gpu_loss, gpu_grads) =
        batch_gradient_vector(&model, &objects, 0.1, micro, &gpu).expect("wgpu gradients");
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    let scale = cpu_grads.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let diff = max_abs_diff(&cpu_grads, &gpu_grads);
    eprintln!(
        "{} gradients, max |g| {scale:e}; wgpu in micro-batches of {micro}: max diff {diff:e}, loss {gpu_loss} vs {cpu_loss}",
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
