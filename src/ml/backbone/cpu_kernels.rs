//! Fused convolution kernels on plain f32 slices, for the frozen backbone's inference on the CPU.
//!
//! burn's CPU backend runs a folded `ConvNorm` as a convolution, a bias pass and a ReLU6 pass,
//! and takes a scalar path for strided depthwise convolutions. These kernels do each layer in
//! one pass over its output, with bias and ReLU6 applied while the output row or tile is still
//! in cache, and every inner loop over contiguous memory (so it vectorises, simd128 in wasm).
//! Layout is NCHW, as burn's.

/// Geometry of a convolution over `[B, C, H, W]` inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Input `[H, W]`.
    pub input: [usize; 2],
    /// Output `[H', W']`.
    pub output: [usize; 2],
    /// Square kernel side.
    pub kernel: usize,
    /// Stride, the same along both axes (1 or 2).
    pub stride: usize,
    /// Zero padding before the first row and column (`[top, left]`); the padding after is
    /// implied by the output size.
    pub pad: [usize; 2],
}

/// What follows the convolution's bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Nothing (a linear bottleneck).
    None,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Activation {
    fn apply(self, row: &mut [f32]) {
        if self == Activation::Relu6 {
            for v in row {
                *v = v.clamp(0.0, 6.0);
            }
        }
    }
}

/// Depthwise convolution (one filter per channel), bias and activation, for `planes` = `B * C`
/// planes. `weight`: `[C, k, k]`; `bias`: `[C]`; `input`: `[B, C, H, W]`; `output`:
/// `[B, C, H', W']`. Stride 2 deinterleaves each input plane into even and odd columns first,
/// so that every tap reads contiguous memory.
pub fn depthwise(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    geometry: &Geometry,
    activation: Activation,
    output: &mut [f32],
) {
    let channels = bias.len();
    let [h, w] = geometry.input;
    let [oh, ow] = geometry.output;
    let planes = input.len() / (h * w);
    assert_eq!(input.len(), planes * h * w, "input is not whole planes");
    assert_eq!(output.len(), planes * oh * ow, "output size");
    assert_eq!(
        weight.len(),
        channels * geometry.kernel * geometry.kernel,
        "weight size"
    );
    let plane = |p: usize, out: &mut [f32]| {
        let c = p % channels;
        let k2 = geometry.kernel * geometry.kernel;
        depthwise_plane(
            &input[p * h * w..(p + 1) * h * w],
            &weight[c * k2..(c + 1) * k2],
            bias[c],
            geometry,
            activation,
            out,
        );
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        output
            .par_chunks_mut(oh * ow)
            .enumerate()
            .for_each(|(p, out)| plane(p, out));
    }
    #[cfg(target_arch = "wasm32")]
    for (p, out) in output.chunks_mut(oh * ow).enumerate() {
        plane(p, out);
    }
}

/// One plane of [`depthwise`]: `in_plane` `[H, W]`, `w` `[k, k]` -> `out` `[H', W']`.
fn depthwise_plane(
    in_plane: &[f32],
    w: &[f32],
    bias: f32,
    g: &Geometry,
    activation: Activation,
    out: &mut [f32],
) {
    let [h, width] = g.input;
    let [_, ow] = g.output;
    let [pad_top, pad_left] = g.pad;
    // Stride 1: each tap is one shifted copy of the input row. Stride 2: `phases[p]` holds the
    // columns of parity p, so input column 2 * o + d is `phases[d % 2][o + d / 2]`.
    let (phases, phase_w): (Vec<Vec<f32>>, [usize; 2]) = if g.stride == 1 {
        (Vec::new(), [width, 0])
    } else {
        debug_assert_eq!(g.stride, 2, "stride 1 or 2");
        let widths = [width.div_ceil(2), width / 2];
        let split = (0..2)
            .map(|p| {
                in_plane
                    .chunks(width)
                    .flat_map(|row| row.iter().skip(p).step_by(2).copied())
                    .collect()
            })
            .collect();
        (split, widths)
    };
    for (o_row, out_row) in out.chunks_mut(ow).enumerate() {
        out_row.fill(bias);
        for kh in 0..g.kernel {
            let Some(ih) = (o_row * g.stride + kh).checked_sub(pad_top) else {
                continue;
            };
            if ih >= h {
                continue;
            }
            for kw in 0..g.kernel {
                let tap = w[kh * g.kernel + kw];
                // Input column of output column o: stride * o + kw - pad_left.
                let d = kw as isize - pad_left as isize;
                let (src, shift): (&[f32], isize) = if g.stride == 1 {
                    (&in_plane[ih * width..(ih + 1) * width], d)
                } else {
                    let p = d.rem_euclid(2) as usize;
                    let pw = phase_w[p];
                    (&phases[p][ih * pw..(ih + 1) * pw], d.div_euclid(2))
                };
                // Output columns whose input column is inside the row.
                let lo = (-shift).max(0) as usize;
                let hi = ((src.len() as isize - shift).max(0) as usize).min(ow);
                if lo >= hi {
                    continue;
                }
                let src = &src[(lo as isize + shift) as usize..(hi as isize + shift) as usize];
                for (o, &x) in out_row[lo..hi].iter_mut().zip(src) {
                    *o += tap * x;
                }
            }
        }
        activation.apply(out_row);
    }
}

/// Output columns (spatial positions) per [`pointwise`] tile: the tile's `[C_out, tile]` output
/// stays in a 256 kB cache while the activation runs over it, and the tile is wide enough for
/// gemm's micro-kernels.
fn pointwise_tile(channels_out: usize) -> usize {
    (65_536 / channels_out).clamp(64, 1024)
}

/// 1x1 convolution (a matrix product over channels), bias and activation. `weight`:
/// `[C_out, C_in]`; `bias`: `[C_out]`; `input`: `[B, C_in, P]` with `P = spatial = H * W`;
/// `output`: `[B, C_out, P]`. Each tile of output columns starts as the bias, gemm adds `W * X`
/// to it, and the activation runs over it while it is in cache.
pub fn pointwise(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    spatial: usize,
    activation: Activation,
    output: &mut [f32],
) {
    let channels_out = bias.len();
    let channels_in = weight.len() / channels_out;
    assert_eq!(weight.len(), channels_out * channels_in, "weight size");
    let images = input.len() / (channels_in * spatial);
    assert_eq!(input.len(), images * channels_in * spatial, "input size");
    assert_eq!(output.len(), images * channels_out * spatial, "output size");
    let tile = pointwise_tile(channels_out);
    let tiles = spatial.div_ceil(tile);
    let out = SendPtr(output.as_mut_ptr());
    let run = |job: usize| {
        let (image, t) = (job / tiles, job % tiles);
        let start = t * tile;
        let width = tile.min(spatial - start);
        let x = &input[image * channels_in * spatial..(image + 1) * channels_in * spatial];
        // SAFETY: jobs write disjoint column ranges of disjoint images' outputs, all inside
        // `output` (checked above); `out` outlives every job.
        let dst = unsafe { out.get().add(image * channels_out * spatial + start) };
        for (c, &b) in bias.iter().enumerate() {
            unsafe { std::slice::from_raw_parts_mut(dst.add(c * spatial), width) }.fill(b);
        }
        // dst[C_out, width] (row stride `spatial`) = 1 * dst + 1 * W[C_out, C_in] x[C_in, width].
        unsafe {
            gemm::gemm(
                channels_out,
                width,
                channels_in,
                dst,
                1,
                spatial as isize,
                true,
                weight.as_ptr(),
                1,
                channels_in as isize,
                x.as_ptr().add(start),
                1,
                spatial as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for c in 0..channels_out {
            activation
                .apply(unsafe { std::slice::from_raw_parts_mut(dst.add(c * spatial), width) });
        }
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..images * tiles).into_par_iter().for_each(run);
    }
    #[cfg(target_arch = "wasm32")]
    (0..images * tiles).for_each(run);
}

/// A raw output pointer shared by jobs that write disjoint parts of it.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: only used for disjoint writes (see `pointwise`).
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook definition, for checking.
    fn naive_depthwise(
        input: &[f32],
        weight: &[f32],
        bias: &[f32],
        g: &Geometry,
        activation: Activation,
    ) -> Vec<f32> {
        let [h, w] = g.input;
        let [oh, ow] = g.output;
        let k = g.kernel;
        let planes = input.len() / (h * w);
        let mut out = vec![0.0; planes * oh * ow];
        for p in 0..planes {
            let c = p % bias.len();
            for y in 0..oh {
                for x in 0..ow {
                    let mut s = bias[c];
                    for kh in 0..k {
                        for kw in 0..k {
                            let iy = (y * g.stride + kh) as isize - g.pad[0] as isize;
                            let ix = (x * g.stride + kw) as isize - g.pad[1] as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                s += weight[c * k * k + kh * k + kw]
                                    * input[p * h * w + iy as usize * w + ix as usize];
                            }
                        }
                    }
                    if activation == Activation::Relu6 {
                        s = s.clamp(0.0, 6.0);
                    }
                    out[p * oh * ow + y * ow + x] = s;
                }
            }
        }
        out
    }

    #[test]
    fn pointwise_matches_the_definition() {
        // Spatial sizes below, at and above one tile, with two images.
        for (c_in, c_out, spatial) in [(5, 7, 9), (16, 96, 700), (24, 1024, 130)] {
            let b = 2;
            let x = values(b * c_in * spatial, 4);
            let w = values(c_out * c_in, 5);
            let bias = values(c_out, 6);
            for act in [Activation::None, Activation::Relu6] {
                let mut expected = vec![0.0; b * c_out * spatial];
                for i in 0..b {
                    for o in 0..c_out {
                        for p in 0..spatial {
                            let mut s = bias[o];
                            for k in 0..c_in {
                                s += w[o * c_in + k] * x[(i * c_in + k) * spatial + p];
                            }
                            if act == Activation::Relu6 {
                                s = s.clamp(0.0, 6.0);
                            }
                            expected[(i * c_out + o) * spatial + p] = s;
                        }
                    }
                }
                let mut got = vec![f32::NAN; expected.len()];
                pointwise(&x, &w, &bias, spatial, act, &mut got);
                let diff = got
                    .iter()
                    .zip(&expected)
                    .map(|(a, e)| (a - e).abs())
                    .fold(0.0, f32::max);
                assert!(
                    diff < 1e-3,
                    "{c_in}->{c_out} x {spatial} {act:?}: differs by {diff}"
                );
            }
        }
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32)
            .map(|v| (v / (1u32 << 24) as f32 - 0.5) * 8.0)
            .collect()
    }

    #[test]
    fn depthwise_matches_the_definition() {
        // 3x3 stride 1 and 2 with torchvision's symmetric padding, odd and even sizes; 5x5 with
        // TensorFlow's asymmetric "same" padding (EfficientNet-Lite), as (input, k, stride, pad).
        let cases = [
            ([7, 9], 3, 1, [1, 1]),
            ([8, 8], 3, 2, [1, 1]),
            ([7, 7], 3, 2, [1, 1]),
            ([9, 10], 5, 2, [1, 1]),
            ([6, 6], 5, 1, [2, 2]),
        ];
        for (input, kernel, stride, pad) in cases {
            // Output size for padding `pad` before and `kernel - 1 - pad` after... or less.
            let out = |n: usize| (n + 2 * pad[0] - kernel) / stride + 1;
            let g = Geometry {
                input,
                output: [out(input[0]), out(input[1])],
                kernel,
                stride,
                pad,
            };
            let (b, c) = (2, 3);
            let x = values(b * c * input[0] * input[1], 1);
            let w = values(c * kernel * kernel, 2);
            let bias = values(c, 3);
            for act in [Activation::None, Activation::Relu6] {
                let expected = naive_depthwise(&x, &w, &bias, &g, act);
                let mut got = vec![f32::NAN; expected.len()];
                depthwise(&x, &w, &bias, &g, act, &mut got);
                let diff = got
                    .iter()
                    .zip(&expected)
                    .map(|(a, e)| (a - e).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-4, "{g:?} {act:?}: differs by {diff}");
            }
        }
    }
}
