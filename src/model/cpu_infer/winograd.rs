//! Winograd minimal filtering (Lavin & Gray 2016) for the 3x3 convolutions: F(4x4, 3x3) by
//! default, F(2x2, 3x3) kept for comparison. Each `m x m` output tile comes from an
//! `(m + 2) x (m + 2)` input tile with `(m + 2)^2` multiplications per channel pair instead of
//! `9 m^2` (2.25 times fewer for F(2x2), 4 times for F(4x4)). The products are `(m + 2)^2`
//! matrix products `[tiles, ci] x [ci, co]`, one per element of the transformed tile.
//!
//! The input and output transforms are adds and a few small constant multiplies on whole
//! channel vectors; they are compiled three times (AVX-512, AVX2 + FMA, the build's baseline)
//! and chosen at run time, because the default x86_64 target only has SSE2.
//! A 2x2 stride-2 max-pool after the convolution can be folded into the output transform
//! (each even-sized output tile pools to whole pooled pixels), which saves writing and
//! re-reading the full-size map.

use super::{grow, matmul_strided, Conv, Work};

/// Calls `name::body` through the widest vector code the CPU runs.
macro_rules! dispatch {
    ($name:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            paste_dispatch!($name, $($arg),*)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $name::body($($arg),*)
        }
    }};
}

macro_rules! paste_dispatch {
    ($name:ident, $($arg:expr),*) => {{
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { $name::avx512($($arg),*) }
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { $name::avx2($($arg),*) }
        } else {
            $name::body($($arg),*)
        }
    }};
}

/// Defines `body` (inlined into each caller) and its AVX-512 and AVX2 compilations.
macro_rules! multiversion {
    ($name:ident ($($p:ident: $t:ty),*) $body:block) => {
        mod $name {
            use super::*;
            #[inline(always)]
            pub(super) fn body($($p: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            pub(super) unsafe fn avx512($($p: $t),*) {
                body($($p),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            pub(super) unsafe fn avx2($($p: $t),*) {
                body($($p),*)
            }
        }
    };
}

/// Which Winograd tile: `F2` is F(2x2, 3x3), `F4` is F(4x4, 3x3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinogradTile {
    F2,
    F4,
}

impl WinogradTile {
    /// Output tile side.
    pub(super) fn m(self) -> usize {
        match self {
            WinogradTile::F2 => 2,
            WinogradTile::F4 => 4,
        }
    }

    /// Input tile side.
    fn a(self) -> usize {
        self.m() + 2
    }

    /// The filter transform `G` (`a x 3`).
    fn g(self) -> &'static [[f64; 3]] {
        const G2: [[f64; 3]; 4] = [
            [1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5],
            [0.0, 0.0, 1.0],
        ];
        const G4: [[f64; 3]; 6] = [
            [1.0 / 4.0, 0.0, 0.0],
            [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
            [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
            [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
            [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
            [0.0, 0.0, 1.0],
        ];
        match self {
            WinogradTile::F2 => &G2,
            WinogradTile::F4 => &G4,
        }
    }
}

/// A 3x3 convolution's weights transformed for one tile size.
#[derive(Debug, Clone)]
pub(super) struct Winograd {
    pub tile: WinogradTile,
    /// `G g G^T` for every (ci, co), as `[a * a][ci][co]`.
    pub u: Vec<f32>,
}

impl Winograd {
    /// From 3x3 weights in im2col layout `[(ky, kx, ci), co]`; computed in f64 so that the
    /// transform adds no rounding of its own.
    pub fn new(tile: WinogradTile, weight: &[f32], cin: usize, cout: usize) -> Self {
        let (a, g) = (tile.a(), tile.g());
        let mut u = vec![0f32; a * a * cin * cout];
        let mut gg = vec![[0f64; 3]; a];
        for ci in 0..cin {
            for co in 0..cout {
                let w =
                    |ky: usize, kx: usize| weight[((ky * 3 + kx) * cin + ci) * cout + co] as f64;
                for (i, row) in gg.iter_mut().enumerate() {
                    for (kx, v) in row.iter_mut().enumerate() {
                        *v = (0..3).map(|ky| g[i][ky] * w(ky, kx)).sum();
                    }
                }
                for (i, row) in gg.iter().enumerate() {
                    for (j, gj) in g.iter().enumerate() {
                        let v: f64 = (0..3).map(|kx| row[kx] * gj[kx]).sum();
                        u[((i * a + j) * cin + ci) * cout + co] = v as f32;
                    }
                }
            }
        }
        Self { tile, u }
    }
}

/// The shapes one Winograd convolution works on.
#[derive(Clone, Copy)]
struct Shape {
    tile: WinogradTile,
    n: usize,
    c: usize,
    co: usize,
    th: usize,
    tw: usize,
}

impl Shape {
    fn tiles(&self) -> usize {
        self.n * self.th * self.tw
    }
}

impl Conv {
    /// `n` NHWC maps in `input` to `n` NHWC maps in `out`, bias and ReLU applied; with
    /// `pool`, 2x2 stride-2 max-pooled as well (the caller checked [`Conv::can_pool`]).
    pub(super) fn forward_winograd(
        &self,
        n: usize,
        input: &[f32],
        wino: &Winograd,
        work: &mut Work,
        out: &mut [f32],
        pool: bool,
    ) {
        let tile = wino.tile;
        let (mt, a) = (tile.m(), tile.a());
        let s = Shape {
            tile,
            n,
            c: self.cin,
            co: self.cout,
            th: self.out_h.div_ceil(mt),
            tw: self.out_w.div_ceil(mt),
        };
        let (tiles, xis, c, co) = (s.tiles(), a * a, s.c, s.co);
        // Both transformed tiles and products are tile-major (`[tile][xi][c]`), so that the
        // transforms read and write whole tiles in one place; the products read and write
        // them with a row stride.
        let v = grow(&mut work.cols, xis * tiles * c);
        // Each image zero-padded to whole tiles, so that every input tile is read in place;
        // zeroed once here: every image overwrites the same interior.
        let padded = grow(&mut work.pad, (mt * s.th + 2) * (mt * s.tw + 2) * c);
        padded.fill(0.0);
        dispatch!(input_transform(self, s, input, padded, v));
        let m = grow(&mut work.m, xis * tiles * co);
        for xi in 0..xis {
            let u = &wino.u[xi * c * co..(xi + 1) * c * co];
            let (a_rs, out_rs) = (xis * c, xis * co);
            matmul_strided(
                tiles,
                co,
                c,
                &v[xi * c..],
                a_rs,
                u,
                &mut m[xi * co..],
                out_rs,
            );
        }
        dispatch!(output_transform(self, s, m, out, pool));
    }

    /// Whether a 2x2 stride-2 max-pool after this convolution can be folded into its output
    /// transform: whole tiles that pool to whole pooled pixels.
    pub(super) fn can_pool(&self, tile: WinogradTile) -> bool {
        let m = tile.m();
        self.out_h.is_multiple_of(m) && self.out_w.is_multiple_of(m)
    }
}

multiversion!(input_transform(conv: &Conv, s: Shape, input: &[f32], padded: &mut [f32], v: &mut [f32]) {
    let (c, mt, a) = (s.c, s.tile.m(), s.tile.a());
    let in_size = conv.in_h * conv.in_w * c;
    let pw = mt * s.tw + 2;
    let mut t = vec![0f32; a * a * c];
    for (img, image) in input.chunks_exact(in_size).enumerate() {
        for (y, row) in image.chunks_exact(conv.in_w * c).enumerate() {
            let at = ((y + conv.pad_top) * pw + conv.pad_left) * c;
            padded[at..at + row.len()].copy_from_slice(row);
        }
        for ty in 0..s.th {
            for tx in 0..s.tw {
                let tile = (img * s.th + ty) * s.tw + tx;
                let d = |i: usize, j: usize| {
                    let at = ((mt * ty + i) * pw + mt * tx + j) * c;
                    &padded[at..at + c]
                };
                // B^T d B, on whole channel vectors: along the rows into `t` ([j][i][c]),
                // then along the columns.
                for j in 0..a {
                    let col = [d(0, j), d(1, j), d(2, j), d(3, j), d(4.min(a - 1), j), d(5.min(a - 1), j)];
                    bt(s.tile, col, &mut t[j * a * c..(j + 1) * a * c]);
                }
                for i in 0..a {
                    let x = |j: usize| &t[(j.min(a - 1) * a + i) * c..][..c];
                    let row = [x(0), x(1), x(2), x(3), x(4), x(5)];
                    bt(s.tile, row, &mut v[(tile * a + i) * a * c..][..a * c]);
                }
            }
        }
    }
});

multiversion!(output_transform(conv: &Conv, s: Shape, m: &[f32], out: &mut [f32], pool: bool) {
    let (co, mt, a) = (s.co, s.tile.m(), s.tile.a());
    let mut r = vec![0f32; a * mt * co];
    let mut y = vec![0f32; mt * mt * co];
    for img in 0..s.n {
        for ty in 0..s.th {
            for tx in 0..s.tw {
                let tile = (img * s.th + ty) * s.tw + tx;
                let e = |xi: usize| &m[(tile * a * a + xi) * co..][..co];
                // A^T e A: along the rows into `r` ([j][dy][co]), then along the columns
                // into `y` ([dy][dx][co]).
                for j in 0..a {
                    let x = |i: usize| e(i.min(a - 1) * a + j);
                    let col = [x(0), x(1), x(2), x(3), x(4), x(5)];
                    at(s.tile, col, &mut r[j * mt * co..(j + 1) * mt * co]);
                }
                for dy in 0..mt {
                    let x = |j: usize| &r[(j.min(a - 1) * mt + dy) * co..][..co];
                    let row = [x(0), x(1), x(2), x(3), x(4), x(5)];
                    at(s.tile, row, &mut y[dy * mt * co..(dy + 1) * mt * co]);
                }
                if pool {
                    pool_tile(conv, s, img, ty, tx, &y, out);
                } else {
                    store_tile(conv, s, img, ty, tx, &y, out);
                }
            }
        }
    }
});

/// Bias and ReLU on an `m x m` output tile `y` (`[dy][dx][co]`), written where it lies in the
/// map (rows and columns past the map's edge dropped).
#[inline(always)]
fn store_tile(conv: &Conv, s: Shape, img: usize, ty: usize, tx: usize, y: &[f32], out: &mut [f32]) {
    let (co, mt) = (s.co, s.tile.m());
    for dy in 0..mt {
        let oy = mt * ty + dy;
        if oy >= conv.out_h {
            break;
        }
        for dx in 0..mt {
            let ox = mt * tx + dx;
            if ox >= conv.out_w {
                break;
            }
            let at = ((img * conv.out_h + oy) * conv.out_w + ox) * co;
            let y = &y[(dy * mt + dx) * co..][..co];
            for ((o, &y), &b) in out[at..at + co].iter_mut().zip(y).zip(&conv.bias) {
                *o = (y + b).max(0.0);
            }
        }
    }
}

/// The 2x2 stride-2 max-pool of an output tile, then bias and ReLU (both commute with the
/// max), into the pooled map.
#[inline(always)]
fn pool_tile(conv: &Conv, s: Shape, img: usize, ty: usize, tx: usize, y: &[f32], out: &mut [f32]) {
    let (co, mt) = (s.co, s.tile.m());
    let (half, oh, ow) = (mt / 2, conv.out_h / 2, conv.out_w / 2);
    for py in 0..half {
        for px in 0..half {
            let q = |dy: usize, dx: usize| &y[((2 * py + dy) * mt + 2 * px + dx) * co..][..co];
            let (q0, q1, q2, q3) = (q(0, 0), q(0, 1), q(1, 0), q(1, 1));
            let at = ((img * oh + half * ty + py) * ow + half * tx + px) * co;
            let o = &mut out[at..at + co];
            for k in 0..co {
                let v = q0[k].max(q1[k]).max(q2[k].max(q3[k]));
                o[k] = (v + conv.bias[k]).max(0.0);
            }
        }
    }
}

/// `B^T x` along one axis of a tile of channel vectors (the first `a` of `x`), the `a`
/// results one after the other in `y`.
#[inline(always)]
fn bt(tile: WinogradTile, x: [&[f32]; 6], y: &mut [f32]) {
    let c = x[0].len();
    match tile {
        WinogradTile::F2 => {
            let (x0, x1, x2, x3) = (&x[0][..c], &x[1][..c], &x[2][..c], &x[3][..c]);
            let (y0, rest) = y.split_at_mut(c);
            let (y1, rest) = rest.split_at_mut(c);
            let (y2, y3) = rest.split_at_mut(c);
            let (y2, y3) = (&mut y2[..c], &mut y3[..c]);
            for k in 0..c {
                y0[k] = x0[k] - x2[k];
                y1[k] = x1[k] + x2[k];
                y2[k] = x2[k] - x1[k];
                y3[k] = x1[k] - x3[k];
            }
        }
        WinogradTile::F4 => {
            let (x0, x1, x2) = (&x[0][..c], &x[1][..c], &x[2][..c]);
            let (x3, x4, x5) = (&x[3][..c], &x[4][..c], &x[5][..c]);
            let (y0, rest) = y.split_at_mut(c);
            let (y1, rest) = rest.split_at_mut(c);
            let (y2, rest) = rest.split_at_mut(c);
            let (y3, rest) = rest.split_at_mut(c);
            let (y4, y5) = rest.split_at_mut(c);
            let y5 = &mut y5[..c];
            for k in 0..c {
                let (p, q) = (x4[k] - 4.0 * x2[k], x3[k] - 4.0 * x1[k]);
                let (r, t) = (x4[k] - x2[k], 2.0 * (x3[k] - x1[k]));
                y0[k] = 4.0 * x0[k] - 5.0 * x2[k] + x4[k];
                y1[k] = p + q;
                y2[k] = p - q;
                y3[k] = r + t;
                y4[k] = r - t;
                y5[k] = 4.0 * x1[k] - 5.0 * x3[k] + x5[k];
            }
        }
    }
}

/// `A^T x` along one axis: `m` results from the first `a` of `x`.
#[inline(always)]
fn at(tile: WinogradTile, x: [&[f32]; 6], y: &mut [f32]) {
    let c = x[0].len();
    match tile {
        WinogradTile::F2 => {
            let (x0, x1, x2, x3) = (&x[0][..c], &x[1][..c], &x[2][..c], &x[3][..c]);
            let (y0, y1) = y.split_at_mut(c);
            let y1 = &mut y1[..c];
            for k in 0..c {
                y0[k] = x0[k] + x1[k] + x2[k];
                y1[k] = x1[k] - x2[k] - x3[k];
            }
        }
        WinogradTile::F4 => {
            let (x0, x1, x2) = (&x[0][..c], &x[1][..c], &x[2][..c]);
            let (x3, x4, x5) = (&x[3][..c], &x[4][..c], &x[5][..c]);
            let (y0, rest) = y.split_at_mut(c);
            let (y1, rest) = rest.split_at_mut(c);
            let (y2, y3) = rest.split_at_mut(c);
            let y3 = &mut y3[..c];
            for k in 0..c {
                let (p, q) = (x1[k] + x2[k], x1[k] - x2[k]);
                let (r, t) = (x3[k] + x4[k], x3[k] - x4[k]);
                y0[k] = x0[k] + p + r;
                y1[k] = q + 2.0 * t;
                y2[k] = p + 4.0 * r;
                y3[k] = q + 8.0 * t + x5[k];
            }
        }
    }
}
