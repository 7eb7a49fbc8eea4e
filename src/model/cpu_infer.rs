//! A CPU inference path for the rotation-invariant stamp encoders (the ALeRCE classifier's
//! conv stack and [`super::StampEncoder`]), several times faster than running the same Burn
//! modules on burn's flex backend.
//!
//! The weights and the layer sequence are read from the Burn modules once, when a model is
//! loaded for CPU inference, so the modules stay the only definition of the architecture.
//! What differs from the Burn forward is only how the arithmetic is laid out:
//!
//! * images stay NHWC from the stamp to the flatten, which is also TensorFlow's flatten order,
//!   so there are no permutes and the im2col rows are runs of whole channel vectors;
//! * each convolution is one im2col copy and one `gemm` call over all the transforms of a
//!   stamp, with bias and ReLU applied in one pass over the output;
//! * max-pooling computes no indices (inference needs none);
//! * stamps are spread over the cores with rayon, one single-threaded gemm per task: at these
//!   sizes (K <= 576, N <= 64) splitting one product over threads loses to whole stamps per
//!   thread.
//!
//! Only the encoder runs here; the small heads after it (dense layers, recurrent heads) stay
//! in Burn, fed with the embeddings this path computes.

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use rayon::prelude::*;

mod winograd;

use winograd::Winograd;
pub use winograd::WinogradTile;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CpuInferError {
    /// A layer setting the CPU path does not implement (the model still runs on Burn).
    #[error("not supported by the CPU inference path: {0}")]
    Unsupported(String),
    #[error("reading the weights: {0}")]
    Weights(String),
    #[error("input: {0}")]
    Input(String),
}

/// One layer of a conv stack, as a model lists its Burn modules in forward order. Every
/// convolution is followed by a ReLU.
pub(crate) enum StackLayer<'a> {
    Conv(&'a Conv2d),
    Pool(&'a MaxPool2d),
}

/// What a model's encoder is made of: its layers, the dense layer after the (NHWC) flatten,
/// and the transforms whose embeddings are averaged.
pub(crate) struct StackRef<'a> {
    pub layers: Vec<StackLayer<'a>>,
    pub dense: &'a Linear,
    pub crop: usize,
    pub channels: usize,
    pub dihedral: bool,
}

#[derive(Debug, Clone)]
struct Conv {
    kh: usize,
    kw: usize,
    pad_top: usize,
    pad_left: usize,
    cin: usize,
    cout: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    /// `[(ky, kx, ci), co]`, row-major: the im2col row order.
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// For 3x3 kernels, the Winograd-transformed weights.
    winograd: Option<Winograd>,
}

#[derive(Debug, Clone)]
struct Pool {
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    c: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
}

#[derive(Debug, Clone)]
enum Layer {
    Conv(Conv),
    Pool(Pool),
}

/// The encoder's weights in the layouts this path computes with.
#[derive(Debug, Clone)]
pub struct CpuEncoder {
    layers: Vec<Layer>,
    crop: usize,
    channels: usize,
    /// For each transform, the source pixel of every destination pixel.
    transforms: Vec<Vec<u32>>,
    flat: usize,
    width: usize,
    /// `[flat, width]`, row-major.
    dense_weight: Vec<f32>,
    dense_bias: Vec<f32>,
}

fn host<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>, CpuInferError> {
    t.try_into_data()
        .map_err(|e| CpuInferError::Weights(format!("{what}: {e}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| CpuInferError::Weights(format!("{what}: {e:?}")))
}

impl CpuEncoder {
    pub(crate) fn from_stack(stack: StackRef<'_>) -> Result<Self, CpuInferError> {
        let unsupported = |s: String| Err(CpuInferError::Unsupported(s));
        if stack.crop == 0 || stack.channels == 0 {
            return Err(CpuInferError::Weights(
                "stamps of no pixel or no channel".into(),
            ));
        }
        let (mut h, mut w, mut c) = (stack.crop, stack.crop, stack.channels);
        let mut layers = Vec::with_capacity(stack.layers.len());
        for layer in stack.layers {
            match layer {
                StackLayer::Conv(conv) => {
                    if conv.stride != [1, 1] || conv.dilation != [1, 1] || conv.groups != 1 {
                        return unsupported(format!(
                            "convolution with stride {:?}, dilation {:?}, groups {}",
                            conv.stride, conv.dilation, conv.groups
                        ));
                    }
                    let [cout, cin, kh, kw] = conv.weight.dims();
                    if cin != c {
                        return Err(CpuInferError::Weights(format!(
                            "a convolution takes {cin} channels after a layer with {c}"
                        )));
                    }
                    let (top, left, bottom, right) = match conv.padding {
                        PaddingConfig2d::Valid => (0, 0, 0, 0),
                        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
                        PaddingConfig2d::Same => {
                            return unsupported("SAME padding resolved at run time".into())
                        }
                    };
                    let (ph, pw) = (h + top + bottom, w + left + right);
                    if kh > ph || kw > pw {
                        return Err(CpuInferError::Weights(format!(
                            "a {kh}x{kw} kernel on a {ph}x{pw} padded map"
                        )));
                    }
                    let oihw = host(conv.weight.val(), "conv weight")?;
                    let mut weight = vec![0f32; kh * kw * cin * cout];
                    for co in 0..cout {
                        for ci in 0..cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    weight[((ky * kw + kx) * cin + ci) * cout + co] =
                                        oihw[((co * cin + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
                    let bias = match &conv.bias {
                        Some(b) => host(b.val(), "conv bias")?,
                        None => vec![0.0; cout],
                    };
                    let (out_h, out_w) = (ph - kh + 1, pw - kw + 1);
                    let winograd = (kh == 3 && kw == 3)
                        .then(|| Winograd::new(DEFAULT_TILE, &weight, cin, cout));
                    layers.push(Layer::Conv(Conv {
                        kh,
                        kw,
                        pad_top: top,
                        pad_left: left,
                        cin,
                        cout,
                        in_h: h,
                        in_w: w,
                        out_h,
                        out_w,
                        weight,
                        bias,
                        winograd,
                    }));
                    (h, w, c) = (out_h, out_w, cout);
                }
                StackLayer::Pool(pool) => {
                    if !matches!(pool.padding, PaddingConfig2d::Valid)
                        || pool.dilation != [1, 1]
                        || pool.ceil_mode
                    {
                        return unsupported(format!(
                            "max pool with padding {:?}, dilation {:?}, ceil mode {}",
                            pool.padding, pool.dilation, pool.ceil_mode
                        ));
                    }
                    let [kh, kw] = pool.kernel_size;
                    let [sh, sw] = pool.stride;
                    if kh == 0 || kw == 0 || sh == 0 || sw == 0 || kh > h || kw > w {
                        return Err(CpuInferError::Weights(format!(
                            "a {kh}x{kw} pool (stride {sh}x{sw}) on a {h}x{w} map"
                        )));
                    }
                    let (out_h, out_w) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
                    layers.push(Layer::Pool(Pool {
                        kh,
                        kw,
                        sh,
                        sw,
                        c,
                        in_h: h,
                        in_w: w,
                        out_h,
                        out_w,
                    }));
                    (h, w) = (out_h, out_w);
                }
            }
        }
        let flat = h * w * c;
        let [d_in, width] = stack.dense.weight.dims();
        if d_in != flat || width == 0 {
            return Err(CpuInferError::Weights(format!(
                "the dense layer maps {d_in} inputs to {width}, the conv stack gives {flat}"
            )));
        }
        let dense_weight = host(stack.dense.weight.val(), "dense weight")?;
        let dense_bias = match &stack.dense.bias {
            Some(b) => host(b.val(), "dense bias")?,
            None => vec![0.0; width],
        };
        Ok(Self {
            layers,
            crop: stack.crop,
            channels: stack.channels,
            transforms: transform_maps(stack.crop, stack.dihedral),
            flat,
            width,
            dense_weight,
            dense_bias,
        })
    }

    /// Whether the 3x3 convolutions use Winograd F(4x4, 3x3) (the default) or im2col + gemm
    /// like the others: both are tested; the switch is for tests and comparisons.
    pub fn with_winograd(self, on: bool) -> Self {
        self.with_winograd_tile(on.then_some(DEFAULT_TILE))
    }

    /// The 3x3 convolutions with a given Winograd tile, or im2col + gemm for `None`.
    pub fn with_winograd_tile(mut self, tile: Option<WinogradTile>) -> Self {
        for layer in &mut self.layers {
            if let Layer::Conv(conv) = layer {
                conv.winograd = match (tile, conv.kh == 3 && conv.kw == 3) {
                    (Some(t), true) => Some(Winograd::new(t, &conv.weight, conv.cin, conv.cout)),
                    _ => None,
                };
            }
        }
        self
    }

    /// Width of the embedding.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The transform-averaged embeddings `[B, width]` of `B` NHWC stamps
    /// (`B x crop x crop x channels` values), the stamps spread over rayon's threads.
    pub fn embed(&self, stamps: &[f32]) -> Result<Vec<f32>, CpuInferError> {
        let per_stamp = self.crop * self.crop * self.channels;
        if !stamps.len().is_multiple_of(per_stamp) {
            return Err(CpuInferError::Input(format!(
                "{} values is not a whole number of {}x{}x{} stamps",
                stamps.len(),
                self.crop,
                self.crop,
                self.channels
            )));
        }
        let b = stamps.len() / per_stamp;
        let mut out = vec![0f32; b * self.width];
        out.par_chunks_mut(STAMPS_PER_TASK * self.width)
            .zip(stamps.par_chunks(STAMPS_PER_TASK * per_stamp))
            .for_each(|(out, stamps)| {
                SCRATCH.with_borrow_mut(|scratch| self.embed_group(stamps, out, scratch))
            });
        Ok(out)
    }

    /// A few stamps: all their transforms go through every layer together, as one matrix
    /// product (or 16 for Winograd) per convolution.
    fn embed_group(&self, stamps: &[f32], out: &mut [f32], s: &mut Scratch) {
        let t = self.transforms.len();
        let c = self.channels;
        let pixels = self.crop * self.crop;
        let g = stamps.len() / (pixels * c);
        let n = g * t;
        let mut len = n * pixels * c;
        for (images, stamp) in grow(&mut s.a, len)
            .chunks_exact_mut(t * pixels * c)
            .zip(stamps.chunks_exact(pixels * c))
        {
            for (image, map) in images.chunks_exact_mut(pixels * c).zip(&self.transforms) {
                for (dst, &src) in image.chunks_exact_mut(c).zip(map) {
                    let src = &stamp[src as usize * c..][..c];
                    // A `memcpy` call per 3-channel pixel cost more than the copy.
                    match (
                        <&mut [f32; 3]>::try_from(&mut *dst),
                        <&[f32; 3]>::try_from(src),
                    ) {
                        (Ok(dst), Ok(src)) => *dst = *src,
                        _ => dst.copy_from_slice(src),
                    }
                }
            }
        }
        let mut layers = self.layers.iter().peekable();
        while let Some(layer) = layers.next() {
            let input = &s.a[..len];
            len = match layer {
                Layer::Conv(conv) => {
                    // A 2x2 stride-2 pool right after a Winograd convolution is done in its
                    // output transform.
                    let pool = match layers.peek() {
                        Some(Layer::Pool(p)) if conv.pools_in_place(p) => layers.next().is_some(),
                        _ => false,
                    };
                    conv.forward(n, input, &mut s.work, &mut s.b, pool)
                }
                Layer::Pool(pool) => pool.forward(n, input, &mut s.b),
            };
            std::mem::swap(&mut s.a, &mut s.b);
        }
        // `s.a` now starts with `[n, flat]` in NHWC order, the order of the dense weights.
        let dense = grow(&mut s.b, n * self.width);
        matmul(
            n,
            self.width,
            self.flat,
            &s.a[..len],
            &self.dense_weight,
            dense,
        );
        let scale = 1.0 / t as f32;
        for (out, rows) in out
            .chunks_exact_mut(self.width)
            .zip(dense.chunks_exact(t * self.width))
        {
            out.fill(0.0);
            for row in rows.chunks_exact(self.width) {
                for ((o, &v), &bias) in out.iter_mut().zip(row).zip(&self.dense_bias) {
                    *o += (v + bias).max(0.0);
                }
            }
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }
}

/// Stamps per rayon task: 16 images make Winograd products of 144 (12x12 maps) to 576 rows
/// (24x24) and buffers that stay in the L2 cache; 8 stamps per task measured 12 % slower on
/// the 2-core Sapphire Rapids.
const STAMPS_PER_TASK: usize = 4;

/// F(4x4, 3x3) does the 3x3 convolutions with 1.78 times fewer multiplications than
/// F(2x2, 3x3); its larger transform constants cost some rounding (measured in the tests:
/// still within 1e-6 of TensorFlow's probabilities).
const DEFAULT_TILE: WinogradTile = WinogradTile::F4;

thread_local! {
    /// Per-thread buffers, kept from batch to batch: `for_each_init` made new ones for every
    /// piece rayon split the work into, and fresh multi-megabyte buffers cost page faults.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Per-thread buffers, reused from stamp to stamp.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    work: Work,
}

/// A convolution's own buffers.
#[derive(Default)]
struct Work {
    /// im2col rows, or the Winograd-transformed input tiles.
    cols: Vec<f32>,
    /// The Winograd products before the output transform.
    m: Vec<f32>,
    /// One zero-padded input map for the Winograd input transform (a fresh allocation per
    /// call made the allocator hand pages back and fault them in again).
    pad: Vec<f32>,
}

impl Conv {
    /// `n` NHWC maps in `input` to `n` NHWC maps at the start of `out`, ReLU applied (and
    /// 2x2 max-pooled with `pool`, which needs [`Conv::pools_in_place`]); returns their
    /// length.
    fn forward(
        &self,
        n: usize,
        input: &[f32],
        work: &mut Work,
        out: &mut Vec<f32>,
        pool: bool,
    ) -> usize {
        let div = if pool { 4 } else { 1 };
        let len = n * self.out_h * self.out_w * self.cout / div;
        let out = grow(out, len);
        match &self.winograd {
            Some(w) => self.forward_winograd(n, input, w, work, out, pool),
            None => self.forward_im2col(n, input, &mut work.cols, out),
        }
        len
    }

    /// Whether `pool`, following this convolution, can be folded into its Winograd output
    /// transform.
    fn pools_in_place(&self, pool: &Pool) -> bool {
        let two = (pool.kh, pool.kw, pool.sh, pool.sw) == (2, 2, 2, 2);
        two && self
            .winograd
            .as_ref()
            .is_some_and(|w| self.can_pool(w.tile))
    }

    #[inline(never)]
    fn forward_im2col(&self, n: usize, input: &[f32], cols: &mut Vec<f32>, out: &mut [f32]) {
        let k = self.kh * self.kw * self.cin;
        let rows = self.out_h * self.out_w;
        let cols = grow(cols, n * rows * k);
        let in_size = self.in_h * self.in_w * self.cin;
        let row_len = self.in_w * self.cin;
        for (image, cols) in input
            .chunks_exact(in_size)
            .zip(cols.chunks_exact_mut(rows * k))
        {
            for (r, col) in cols.chunks_exact_mut(k).enumerate() {
                let (oy, ox) = (r / self.out_w, r % self.out_w);
                // The valid kernel columns are one contiguous run of the NHWC input row.
                let x0 = ox as isize - self.pad_left as isize;
                let kx_lo = (-x0).max(0) as usize;
                let kx_hi = ((self.in_w as isize - x0).max(0) as usize).min(self.kw);
                for ky in 0..self.kh {
                    let seg = &mut col[ky * self.kw * self.cin..(ky + 1) * self.kw * self.cin];
                    let y = (oy + ky) as isize - self.pad_top as isize;
                    if y < 0 || y >= self.in_h as isize || kx_lo >= kx_hi {
                        seg.fill(0.0);
                        continue;
                    }
                    let src = y as usize * row_len + (x0 + kx_lo as isize) as usize * self.cin;
                    let (lo, hi) = (kx_lo * self.cin, kx_hi * self.cin);
                    seg[..lo].fill(0.0);
                    seg[lo..hi].copy_from_slice(&image[src..src + hi - lo]);
                    seg[hi..].fill(0.0);
                }
            }
        }
        matmul(n * rows, self.cout, k, cols, &self.weight, out);
        for row in out.chunks_exact_mut(self.cout) {
            for (v, &b) in row.iter_mut().zip(&self.bias) {
                *v = (*v + b).max(0.0);
            }
        }
    }
}

impl Pool {
    #[inline(never)]
    fn forward(&self, n: usize, input: &[f32], out: &mut Vec<f32>) -> usize {
        let c = self.c;
        let in_size = self.in_h * self.in_w * c;
        let out_size = self.out_h * self.out_w * c;
        let out = grow(out, n * out_size);
        for (image, out) in input
            .chunks_exact(in_size)
            .zip(out.chunks_exact_mut(out_size))
        {
            for (p, o) in out.chunks_exact_mut(c).enumerate() {
                let (oy, ox) = (p / self.out_w, p % self.out_w);
                let first = ((oy * self.sh) * self.in_w + ox * self.sw) * c;
                o.copy_from_slice(&image[first..first + c]);
                for ky in 0..self.kh {
                    for kx in 0..self.kw {
                        let at = ((oy * self.sh + ky) * self.in_w + ox * self.sw + kx) * c;
                        for (o, &v) in o.iter_mut().zip(&image[at..at + c]) {
                            *o = o.max(v);
                        }
                    }
                }
            }
        }
        n * out_size
    }
}

/// The first `len` elements of a scratch buffer, grown if needed but never shrunk or cleared:
/// its users overwrite what they use, and zeroing megabytes per layer cost a tenth of the time.
fn grow(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// `out[m, n] = a[m, k] b[k, n]`, all row-major, on the calling thread.
fn matmul(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    matmul_strided(m, n, k, a, k, b, out, n);
}

/// [`matmul`] with rows of `a` and `out` `a_rs` and `out_rs` elements apart.
#[allow(clippy::too_many_arguments)]
fn matmul_strided(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    out: &mut [f32],
    out_rs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(a_rs >= k && out_rs >= n);
    assert!(a.len() >= (m - 1) * a_rs + k && b.len() >= k * n);
    assert!(out.len() >= (m - 1) * out_rs + n);
    // SAFETY: the three slices hold the m x k, k x n and m x n row-major matrices that the
    // strides describe (checked above), `out` is borrowed mutably so it aliases neither input,
    // and with `read_dst == false` gemm never reads `out`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            out_rs as isize,
            false,
            a.as_ptr(),
            1,
            a_rs as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Source pixel maps of the transforms, in the order of [`super::encoder`]'s `transforms`
/// (and ALeRCE's rotations): the four counter-clockwise rotations `np.rot90(x, k)`, each
/// preceded by its mirror image (columns reversed) when `dihedral`.
fn transform_maps(side: usize, dihedral: bool) -> Vec<Vec<u32>> {
    let identity: Vec<u32> = (0..(side * side) as u32).collect();
    // rot90: r[i][j] = x[j][side - 1 - i]; mirror: m[i][j] = x[i][side - 1 - j].
    let rot = |x: &[u32]| -> Vec<u32> {
        (0..side * side)
            .map(|p| x[(p % side) * side + side - 1 - p / side])
            .collect()
    };
    let mirror = |x: &[u32]| -> Vec<u32> {
        (0..side * side)
            .map(|p| x[(p / side) * side + side - 1 - p % side])
            .collect()
    };
    let mut out = Vec::with_capacity(if dihedral { 8 } else { 4 });
    let mut r = identity;
    for _ in 0..4 {
        let next = rot(&r);
        if dihedral {
            out.push(mirror(&r));
        }
        out.push(r);
        r = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_rotations_come_back_to_the_start() {
        let maps = transform_maps(3, false);
        assert_eq!(maps.len(), 4);
        assert_eq!(maps[0], (0..9).collect::<Vec<u32>>());
        // np.rot90 of [[0,1,2],[3,4,5],[6,7,8]] is [[2,5,8],[1,4,7],[0,3,6]].
        assert_eq!(maps[1], vec![2, 5, 8, 1, 4, 7, 0, 3, 6]);
        // rot^3 after rot is the identity: composing the source maps gives it back.
        let composed: Vec<u32> = (0..9).map(|p| maps[3][maps[1][p] as usize]).collect();
        assert_eq!(composed, (0..9).collect::<Vec<u32>>());
    }

    #[test]
    fn dihedral_adds_the_mirror_images() {
        let maps = transform_maps(3, true);
        assert_eq!(maps.len(), 8);
        assert_eq!(maps[0], vec![2, 1, 0, 5, 4, 3, 8, 7, 6]);
        assert_eq!(maps[1], (0..9).collect::<Vec<u32>>());
        let mut sorted = maps.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 8, "the eight transforms are distinct");
    }

    #[test]
    fn matmul_is_row_major() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // 3 x 2
        let mut out = [0.0; 4];
        matmul(2, 2, 3, &a, &b, &mut out);
        assert_eq!(out, [4.0, 5.0, 10.0, 11.0]);
    }
}
