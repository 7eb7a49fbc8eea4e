//! The ALeRCE training loss: cross-entropy minus beta x entropy of the softmax (a confidence
//! penalty that keeps the network from becoming over-confident; beta = 0.5 deployed, 0 gives
//! plain cross-entropy).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Mean over the valid steps of `CE - beta * H(softmax)`, for class-evolution logits
/// `[B, T, C]`, targets `[B, T]` (class indices) and a `[B, T]` mask (1 valid, 0 padding).
/// Returns a one-element tensor; with no valid step at all the loss is 0.
pub fn confidence_penalty_loss(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    mask: Tensor<2>,
    beta: f64,
) -> Tensor<1> {
    let [b, t, _] = logits.dims();
    let log_p = log_softmax(logits, 2);
    let ce = -log_p
        .clone()
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .reshape([b, t]);
    let entropy = -(log_p.clone().exp() * log_p).sum_dim(2).reshape([b, t]);
    let per_step = ce - entropy.mul_scalar(beta);
    // Clamped so that an all-padding batch gives 0 rather than NaN.
    let n_valid = mask.clone().sum().clamp_min(1.0);
    (per_step * mask).sum() / n_valid
}

/// The same loss for single-alert logits `[B, C]` and targets `[B]`.
pub fn confidence_penalty_loss_single(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    beta: f64,
) -> Tensor<1> {
    let [b, _] = logits.dims();
    let device = logits.device();
    confidence_penalty_loss(
        logits.unsqueeze_dim(1),
        targets.unsqueeze_dim(1),
        Tensor::ones([b, 1], &device),
        beta,
    )
}
