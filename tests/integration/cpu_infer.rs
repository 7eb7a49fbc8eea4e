//! The CPU inference path (`stampseq::model::cpu_infer`) against the Burn forward of the same
//! modules on burn flex: random encoders of several shapes, and whole models through
//! `LoadedModel` (`--backend cpu` against `--backend flex`). Its match with the TensorFlow
//! reference probabilities is in `model.rs`.

use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::atomic::AtomicBool;

use stampseq::backend::BackendChoice;
use stampseq::classify::{ClassifyOptions, LoadedModel};
use stampseq::model::cpu_infer::WinogradTile;
use stampseq::model::{CpuEncoder, StampEncoderConfig};

use crate::common::ztf;

/// Largest |cpu - burn| over `b` random stamps, and the largest |burn| for scale.
fn encoder_errors(config: &StampEncoderConfig, b: usize, seed: u64, winograd: bool) -> (f32, f32) {
    encoder_errors_with(config, b, seed, |cpu| cpu.with_winograd(winograd))
}

/// [`encoder_errors`] with the CPU encoder set up by `setup`.
fn encoder_errors_with(
    config: &StampEncoderConfig,
    b: usize,
    seed: u64,
    setup: impl FnOnce(CpuEncoder) -> CpuEncoder,
) -> (f32, f32) {
    let device = Device::flex();
    let encoder = config.init(&device).expect("valid config");
    let cpu = setup(
        encoder
            .cpu_encoder()
            .expect("CPU path supports the encoder"),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let n = b * config.crop * config.crop * config.channels;
    let stamps: Vec<f32> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let ours = cpu.embed(&stamps).expect("embed");
    let burn = encoder
        .forward(Tensor::<4>::from_data(
            TensorData::new(stamps, [b, config.crop, config.crop, config.channels]),
            &device,
        ))
        .try_into_data()
        .expect("readback")
        .try_into_vec_as::<f32>()
        .expect("f32");
    assert_eq!(ours.len(), burn.len());
    assert_eq!(ours.len(), b * config.dense);
    let worst = ours
        .iter()
        .zip(&burn)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let scale = burn.iter().map(|v| v.abs()).fold(0f32, f32::max);
    (worst, scale)
}

/// Both ways of computing the 3x3 convolutions, on 9 stamps (two full tasks and a partial
/// one).
fn check(config: StampEncoderConfig, seed: u64) {
    for winograd in [true, false] {
        let (worst, scale) = encoder_errors(&config, 9, seed, winograd);
        eprintln!(
            "{config:?}, winograd {winograd}: max |cpu - burn| = {worst:e} (max |burn| = {scale:e})"
        );
        assert!(scale > 0.0, "a dead encoder tests nothing");
        assert!(
            worst <= 1e-5 * scale.max(1.0),
            "max |cpu - burn| = {worst:e}, max |burn| = {scale:e}"
        );
    }
}

#[test]
fn cpu_encoder_matches_burn_on_the_alerce_shape() {
    check(StampEncoderConfig::default(), 1);
}

#[test]
fn cpu_encoder_matches_burn_dihedral_with_other_kernels() {
    check(
        StampEncoderConfig {
            crop: 28,
            first_kernel: 5,
            first_padding: 2,
            kernel: 5,
            blocks: vec![vec![8], vec![16, 16], vec![8]],
            dense: 24,
            dihedral: true,
            ..StampEncoderConfig::default()
        },
        2,
    );
}

#[test]
fn cpu_encoder_matches_burn_with_odd_maps_and_no_first_padding() {
    // 21 - 4 + 1 = 18 -> 9 -> 4: the second pool drops a row and a column, as Burn's does.
    check(
        StampEncoderConfig {
            first_padding: 0,
            blocks: vec![vec![6, 6], vec![12]],
            dense: 10,
            ..StampEncoderConfig::default()
        },
        3,
    );
    check(
        StampEncoderConfig {
            crop: 63,
            channels: 2,
            blocks: vec![vec![4], vec![8, 8], vec![8]],
            dense: 12,
            ..StampEncoderConfig::default()
        },
        4,
    );
}

/// Both Winograd tiles, F(2x2, 3x3) and F(4x4, 3x3), on maps that are whole tiles (the
/// pool folded into the output transform) and on maps that are not (18 -> 9 -> 4).
#[test]
fn cpu_encoder_winograd_tiles_match_burn() {
    let odd = StampEncoderConfig {
        first_padding: 0,
        blocks: vec![vec![6, 6], vec![12]],
        dense: 10,
        ..StampEncoderConfig::default()
    };
    for (config, seed) in [(StampEncoderConfig::default(), 5), (odd, 6)] {
        for tile in [WinogradTile::F2, WinogradTile::F4] {
            let (worst, scale) =
                encoder_errors_with(&config, 9, seed, |cpu| cpu.with_winograd_tile(Some(tile)));
            eprintln!("{tile:?}: max |cpu - burn| = {worst:e} (max |burn| = {scale:e})");
            assert!(scale > 0.0, "a dead encoder tests nothing");
            assert!(
                worst <= 1e-5 * scale.max(1.0),
                "{tile:?}: {worst:e} of {scale:e}"
            );
        }
    }
}

#[test]
fn cpu_encoder_refuses_stamps_of_the_wrong_size() {
    let encoder = StampEncoderConfig::default()
        .init(&Device::flex())
        .expect("config")
        .cpu_encoder()
        .expect("cpu");
    assert!(encoder.embed(&[0.0; 21 * 21 * 3 + 1]).is_err());
    assert_eq!(encoder.embed(&[]).expect("no stamps"), Vec::<f32>::new());
}

/// Every bundled model (temporal and enhanced) on real sequences: `--backend cpu` (CPU
/// encoder + Burn layers after it) gives the probabilities of `--backend flex` (all Burn).
#[test]
fn bundled_models_on_cpu_kernels_match_flex() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    let (alerts, _) = stampseq::alert::read_all_any(&[ztf("sequences")], &Default::default());
    let (sequences, _) = stampseq::sequence::neutral::group_objects(alerts);
    assert!(sequences.len() >= 10);
    let options = ClassifyOptions {
        max_detections: 5,
        batch_size: 64,
        production_rules: false,
        ..ClassifyOptions::default()
    };
    for name in ["tsc-gru-real", "tsc-gru-sim", "enhanced-real"] {
        let path = dir.join(format!("{name}.stampseq"));
        let run = |choice: BackendChoice| {
            let backend = choice.resolve();
            let model = LoadedModel::load_for(&path, &backend).expect("bundled model");
            assert_eq!(model.uses_cpu_kernels(), choice == BackendChoice::Cpu);
            model
                .classify(
                    &sequences,
                    &options,
                    &backend.device,
                    &AtomicBool::new(false),
                    &|_, _| {},
                )
                .expect("classify")
        };
        let (cpu, flex) = (run(BackendChoice::Cpu), run(BackendChoice::Flex));
        assert_eq!(cpu.rows.len(), flex.rows.len());
        assert!(cpu.rows.len() > sequences.len(), "several detections each");
        let mut worst = 0f32;
        for (a, b) in cpu.rows.iter().zip(&flex.rows) {
            assert_eq!((&a.object_id, a.k), (&b.object_id, b.k));
            for (p, q) in a.probabilities.iter().zip(&b.probabilities) {
                worst = worst.max((p - q).abs());
            }
        }
        eprintln!("{name}: max |p_cpu - p_flex| = {worst:e}");
        assert!(worst <= 1e-5, "{name}: max |p_cpu - p_flex| = {worst:e}");
    }
}
