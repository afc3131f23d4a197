//! Image preprocessing as pure maths over `u8` pixel buffers: each backbone's evaluation
//! transform, reproduced exactly.
//!
//! - MobileNetV2 ([`Resampling::TorchvisionBilinear`]): torchvision's ImageNet transform
//!   (`Resize(256)`, `CenterCrop(224)`, `ToTensor()`, `Normalize(mean, std)`) on PIL images. The
//!   resize is PIL's antialiased bilinear resampling (`Image.resize(..., BILINEAR)`, see Pillow's
//!   `libImaging/Resample.c`), a separable triangle filter whose support widens with the
//!   downscale factor. Both passes round to `u8` as PIL does, so results agree with PyTorch to
//!   about one grey level. Only the pixels inside the centre crop are computed.
//! - EfficientNet-Lite ([`Resampling::TfCropBicubic`]): TensorFlow's EfficientNet evaluation
//!   (`preprocessing.py` of the reference, `_decode_and_center_crop`): the centre square of
//!   224/256 of the shorter side, resized to 224x224 by `tf.compat.v1.image.resize_bicubic`
//!   (cubic convolution with `a = -0.75`, no antialiasing, the legacy pixel grid without
//!   half-pixel centres), kept as floats; then `(x - 127) / 128`.

use thiserror::Error;

/// Channel means of ImageNet in `[0, 1]` units (torchvision's `Normalize`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// Channel standard deviations of ImageNet in `[0, 1]` units.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// EfficientNet-Lite's input scaling `(x - 127) / 128` on 0–255 values, as a mean in `[0, 1]`
/// units (TensorFlow's `MEAN_RGB` of the Lite builder, divided by 255).
pub const TF_LITE_MEAN: [f32; 3] = [127.0 / 255.0; 3];
/// EfficientNet-Lite's `STDDEV_RGB` (128) in `[0, 1]` units.
pub const TF_LITE_STD: [f32; 3] = [128.0 / 255.0; 3];

/// Errors of preprocessing: the buffer does not describe an image.
#[derive(Debug, Clone, Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PreprocessError {
    /// Width or height is zero.
    #[error("the image is empty ({width}x{height} pixels)")]
    Empty { width: usize, height: usize },
    /// The buffer length is not `width * height * channels`.
    #[error(
        "pixel buffer holds {actual} bytes, expected {expected} for {width}x{height}x{channels}"
    )]
    BadLength {
        width: usize,
        height: usize,
        channels: usize,
        expected: usize,
        actual: usize,
    },
    /// Only RGB (3) and RGBA (4) interleaved buffers are accepted.
    #[error("{0} channels per pixel are not supported (use RGB or RGBA)")]
    Channels(usize),
}

/// A borrowed, row-major, interleaved 8-bit image (RGB or RGBA; alpha is ignored).
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 3 for RGB, 4 for RGBA.
    pub channels: usize,
    /// `width * height * channels` bytes.
    pub pixels: &'a [u8],
}

impl<'a> ImageView<'a> {
    /// Checks that `pixels` really is a `width x height` image with `channels` channels.
    pub fn new(
        width: usize,
        height: usize,
        channels: usize,
        pixels: &'a [u8],
    ) -> Result<Self, PreprocessError> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::Empty { width, height });
        }
        if channels != 3 && channels != 4 {
            return Err(PreprocessError::Channels(channels));
        }
        let expected = width * height * channels;
        if pixels.len() != expected {
            return Err(PreprocessError::BadLength {
                width,
                height,
                channels,
                expected,
                actual: pixels.len(),
            });
        }
        Ok(Self {
            width,
            height,
            channels,
            pixels,
        })
    }
}

/// How a photo is cropped and resized to the network's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Resampling {
    /// torchvision: the shorter side resized to `resize` with PIL's antialiased bilinear filter
    /// (rounded to `u8`), then the centre `crop x crop` square.
    #[default]
    TorchvisionBilinear,
    /// TensorFlow's EfficientNet: the centre square of `crop / resize` of the shorter side, then
    /// legacy bicubic resampling to `crop x crop`, unrounded.
    TfCropBicubic,
}

/// The evaluation transform's parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// The shorter side is resized to this many pixels (torchvision: 256). With
    /// [`Resampling::TfCropBicubic`], `crop / resize` is the share of the shorter side kept.
    pub resize: usize,
    /// Side of the square centre crop, the network's input size (224).
    pub crop: usize,
    /// Per-channel mean, `[0, 1]` units.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, `[0, 1]` units.
    pub std: [f32; 3],
    /// How the crop is resampled (absent in model files written before there was a choice,
    /// which all used torchvision's).
    #[serde(default)]
    pub resampling: Resampling,
}

impl Default for Preprocess {
    /// torchvision's ImageNet transform, MobileNetV2's.
    fn default() -> Self {
        Self::torchvision()
    }
}

impl Preprocess {
    /// torchvision's ImageNet evaluation transform (MobileNetV2).
    pub fn torchvision() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            resampling: Resampling::TorchvisionBilinear,
        }
    }

    /// TensorFlow's EfficientNet-Lite evaluation transform: centre crop 224/256 of the shorter
    /// side, bicubic to 224x224, `(x - 127) / 128`.
    pub fn efficientnet_lite() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: TF_LITE_MEAN,
            std: TF_LITE_STD,
            resampling: Resampling::TfCropBicubic,
        }
    }

    /// Number of `f32` values one preprocessed image holds: `3 * crop * crop`.
    pub fn len(&self) -> usize {
        3 * self.crop * self.crop
    }

    /// Always false: a transform has at least one output value.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Size `(width, height)` after `Resize(resize)`: the shorter side becomes `resize`, the
    /// longer one is scaled and truncated as torchvision does (`int(size * long / short)`).
    pub fn resized_size(&self, width: usize, height: usize) -> (usize, usize) {
        let (short, long) = if width <= height {
            (width, height)
        } else {
            (height, width)
        };
        let new_long = (self.resize as f64 * long as f64 / short as f64) as usize;
        let new_long = new_long.max(self.resize);
        if width <= height {
            (self.resize, new_long)
        } else {
            (new_long, self.resize)
        }
    }

    /// Crop, resize and normalise one image.
    ///
    /// Returns the network input as a planar `[3, crop, crop]` buffer (CHW, channel order RGB),
    /// in normalised units `(x / 255 - mean) / std`.
    pub fn apply(&self, image: &ImageView<'_>) -> Vec<f32> {
        match self.resampling {
            Resampling::TorchvisionBilinear => self.apply_torchvision(image),
            Resampling::TfCropBicubic => self.apply_tf_bicubic(image),
        }
    }

    /// `x` in 0–255 units (not necessarily whole) to the network's units, channel `c`.
    fn normalise(&self, x: f32, c: usize) -> f32 {
        (x / 255.0 - self.mean[c]) / self.std[c]
    }

    /// Side and top-left corner `(side, left, top)` of TensorFlow's centre square: `crop /
    /// resize` of the shorter side (float32 product, truncated), odd margins rounding up.
    pub fn tf_crop_window(&self, width: usize, height: usize) -> (usize, usize, usize) {
        let fraction = (self.crop as f64 / self.resize as f64) as f32;
        let side = ((fraction * width.min(height) as f32) as usize).max(1);
        (
            side,
            (width - side).div_ceil(2),
            (height - side).div_ceil(2),
        )
    }

    fn apply_tf_bicubic(&self, image: &ImageView<'_>) -> Vec<f32> {
        let (side, left, top) = self.tf_crop_window(image.width, image.height);
        let crop = self.crop;
        let taps = LegacyBicubic::new(side, crop);
        let stride = image.width * image.channels;
        // TensorFlow interpolates along y first, then along x; keep its order (and so its
        // float rounding). Vertical pass over the crop's columns: [crop rows, side cols, 3].
        let mut vertical = vec![0f32; crop * side * 3];
        for y in 0..crop {
            let (rows, weights) = taps.at(y);
            for x in 0..side {
                let p = (left + x) * image.channels;
                for c in 0..3 {
                    let mut acc = 0f32;
                    for (r, w) in rows.iter().zip(weights) {
                        acc += w * image.pixels[(top + r) * stride + p + c] as f32;
                    }
                    vertical[(y * side + x) * 3 + c] = acc;
                }
            }
        }
        let plane = crop * crop;
        let mut out = vec![0f32; 3 * plane];
        for x in 0..crop {
            let (cols, weights) = taps.at(x);
            for y in 0..crop {
                for c in 0..3 {
                    let mut acc = 0f32;
                    for (col, w) in cols.iter().zip(weights) {
                        acc += w * vertical[(y * side + col) * 3 + c];
                    }
                    out[c * plane + y * crop + x] = self.normalise(acc, c);
                }
            }
        }
        out
    }

    fn apply_torchvision(&self, image: &ImageView<'_>) -> Vec<f32> {
        let (new_w, new_h) = self.resized_size(image.width, image.height);
        let crop = self.crop.min(new_w).min(new_h);
        let left = round_half_even((new_w - crop) as f64 / 2.0);
        let top = round_half_even((new_h - crop) as f64 / 2.0);
        let cols = Taps::new(image.width, new_w, left, crop);
        let rows = Taps::new(image.height, new_h, top, crop);

        // Horizontal pass over only the source rows the vertical pass will read.
        let first_row = rows.start[0];
        let last_row = rows.start[crop - 1] + rows.len[crop - 1];
        let stride = image.width * image.channels;
        let mut horizontal = vec![0f32; (last_row - first_row) * crop * 3];
        for y in first_row..last_row {
            let src = &image.pixels[y * stride..(y + 1) * stride];
            let dst = &mut horizontal[(y - first_row) * crop * 3..(y - first_row + 1) * crop * 3];
            for x in 0..crop {
                let mut acc = [0f32; 3];
                for (k, w) in cols.weights(x).iter().enumerate() {
                    let p = (cols.start[x] + k) * image.channels;
                    for c in 0..3 {
                        acc[c] += w * src[p + c] as f32;
                    }
                }
                for c in 0..3 {
                    dst[x * 3 + c] = to_u8(acc[c]);
                }
            }
        }

        // Vertical pass, then ToTensor and Normalize, written planar.
        let plane = crop * crop;
        let mut out = vec![0f32; 3 * plane];
        for y in 0..crop {
            for x in 0..crop {
                let mut acc = [0f32; 3];
                for (k, w) in rows.weights(y).iter().enumerate() {
                    let r = rows.start[y] + k - first_row;
                    let p = (r * crop + x) * 3;
                    for c in 0..3 {
                        acc[c] += w * horizontal[p + c];
                    }
                }
                for c in 0..3 {
                    out[c * plane + y * crop + x] = self.normalise(to_u8(acc[c]), c);
                }
            }
        }
        out
    }
}

/// Rounds and clamps a filtered value to the `u8` range, as PIL's resampler does.
fn to_u8(v: f32) -> f32 {
    v.round().clamp(0.0, 255.0)
}

/// Python's `round()` for the crop offset: halves go to the even neighbour.
fn round_half_even(v: f64) -> usize {
    let r = v.round();
    let r = if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - v.signum()
    } else {
        r
    };
    r.max(0.0) as usize
}

/// Filter taps of PIL's bilinear resampling along one axis, for the output indices
/// `offset..offset + count` of a `src -> dst` resize.
struct Taps {
    start: Vec<usize>,
    len: Vec<usize>,
    max_len: usize,
    coeffs: Vec<f32>,
}

impl Taps {
    fn new(src: usize, dst: usize, offset: usize, count: usize) -> Self {
        let scale = src as f64 / dst as f64;
        let filter_scale = scale.max(1.0);
        // Bilinear's support is 1 source pixel, widened by the downscale factor (antialiasing).
        let support = filter_scale;
        let max_len = support.ceil() as usize * 2 + 1;
        let mut taps = Self {
            start: Vec::with_capacity(count),
            len: Vec::with_capacity(count),
            max_len,
            coeffs: vec![0.0; count * max_len],
        };
        for i in 0..count {
            let center = (offset + i) as f64 + 0.5;
            let center = center * scale;
            // `as i64` truncates toward zero, like the C cast in Pillow.
            let lo = ((center - support + 0.5) as i64).max(0) as usize;
            let hi = ((center + support + 0.5) as i64).min(src as i64) as usize;
            let n = hi - lo;
            let row = &mut taps.coeffs[i * max_len..i * max_len + n];
            let mut total = 0.0;
            for (k, w) in row.iter_mut().enumerate() {
                let t = ((lo + k) as f64 - center + 0.5) / filter_scale;
                let v = (1.0 - t.abs()).max(0.0);
                *w = v as f32;
                total += v;
            }
            if total > 0.0 {
                for w in row.iter_mut() {
                    *w = (*w as f64 / total) as f32;
                }
            }
            taps.start.push(lo);
            taps.len.push(n);
        }
        taps
    }

    fn weights(&self, i: usize) -> &[f32] {
        &self.coeffs[i * self.max_len..i * self.max_len + self.len[i]]
    }
}

/// TensorFlow 1's `resize_bicubic` taps along one axis of a `src -> dst` resize, without
/// half-pixel centres (`tensorflow/core/kernels/image/resize_bicubic_op.cc`, the legacy path):
/// output `i` reads source `floor(i * src / dst) - 1 ..= + 2`, clamped to the edge, weighted by
/// the cubic convolution kernel with `a = -0.75` looked up in a 1024-step table (so the fraction
/// is rounded to 1/1024, as TensorFlow does).
struct LegacyBicubic {
    indices: Vec<[usize; 4]>,
    weights: Vec<[f32; 4]>,
}

impl LegacyBicubic {
    const TABLE_SIZE: usize = 1024;
    const A: f64 = -0.75;

    fn new(src: usize, dst: usize) -> Self {
        // Kernel weights for distances `t` and `t + 1`, `t = i / 1024`, stored as f32 like
        // TensorFlow's table.
        let near = |i: usize| {
            let (a, x) = (Self::A, i as f64 / Self::TABLE_SIZE as f64);
            (((a + 2.0) * x - (a + 3.0)) * x * x + 1.0) as f32
        };
        let far = |i: usize| {
            let (a, x) = (Self::A, i as f64 / Self::TABLE_SIZE as f64 + 1.0);
            (((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a) as f32
        };
        let scale = src as f32 / dst as f32;
        let last = src as i64 - 1;
        let mut taps = Self {
            indices: Vec::with_capacity(dst),
            weights: Vec::with_capacity(dst),
        };
        for i in 0..dst {
            let at = i as f32 * scale;
            let floor = at.floor();
            // `lrintf`: the fraction to the nearest table step, halves to even.
            let step = ((at - floor) * Self::TABLE_SIZE as f32).round_ties_even() as usize;
            let floor = floor as i64;
            let bound = |k: i64| (floor + k).clamp(0, last) as usize;
            taps.indices.push([bound(-1), bound(0), bound(1), bound(2)]);
            let back = Self::TABLE_SIZE - step;
            taps.weights
                .push([far(step), near(step), near(back), far(back)]);
        }
        taps
    }

    fn at(&self, i: usize) -> (&[usize; 4], &[f32; 4]) {
        (&self.indices[i], &self.weights[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, rgb: [u8; 3]) -> Vec<u8> {
        (0..w * h).flat_map(|_| rgb).collect()
    }

    #[test]
    fn resized_size_matches_torchvision() {
        let p = Preprocess::default();
        assert_eq!(p.resized_size(500, 375), (341, 256));
        assert_eq!(p.resized_size(375, 500), (256, 341));
        assert_eq!(p.resized_size(100, 100), (256, 256));
        assert_eq!(p.resized_size(1, 8000), (256, 2048000));
    }

    #[test]
    fn crop_offset_rounds_half_to_even() {
        assert_eq!(round_half_even(16.0), 16);
        assert_eq!(round_half_even(58.5), 58);
        assert_eq!(round_half_even(59.5), 60);
        assert_eq!(round_half_even(3.2), 3);
    }

    #[test]
    fn solid_colour_normalises_exactly() {
        let px = solid(300, 200, [255, 0, 128]);
        let img = ImageView::new(300, 200, 3, &px).unwrap();
        let out = Preprocess::default().apply(&img);
        assert_eq!(out.len(), 3 * 224 * 224);
        let plane = 224 * 224;
        let expect = |c: usize, v: f32| (v / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        assert!((out[0] - expect(0, 255.0)).abs() < 1e-6);
        assert!((out[plane + 100] - expect(1, 0.0)).abs() < 1e-6);
        assert!((out[2 * plane + plane - 1] - expect(2, 128.0)).abs() < 1e-6);
    }

    #[test]
    fn rgba_ignores_alpha() {
        let rgb = solid(64, 48, [10, 20, 30]);
        let rgba: Vec<u8> = rgb.chunks(3).flat_map(|p| [p[0], p[1], p[2], 7]).collect();
        let p = Preprocess::default();
        let a = p.apply(&ImageView::new(64, 48, 3, &rgb).unwrap());
        let b = p.apply(&ImageView::new(64, 48, 4, &rgba).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn left_right_halves_stay_apart() {
        // A white left half and black right half: the crop's first column is white, last black.
        let (w, h) = (512, 256);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| if i % w < w / 2 { [255u8; 3] } else { [0u8; 3] })
            .collect();
        let out = Preprocess::default().apply(&ImageView::new(w, h, 3, &px).unwrap());
        let white = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        let black = -IMAGENET_MEAN[0] / IMAGENET_STD[0];
        assert!((out[0] - white).abs() < 1e-5);
        assert!((out[223] - black).abs() < 1e-5);
    }

    #[test]
    fn bad_buffers_are_errors() {
        assert_eq!(
            ImageView::new(0, 5, 3, &[]).unwrap_err(),
            PreprocessError::Empty {
                width: 0,
                height: 5
            }
        );
        assert!(matches!(
            ImageView::new(2, 2, 3, &[0; 11]),
            Err(PreprocessError::BadLength { expected: 12, .. })
        ));
        assert_eq!(
            ImageView::new(1, 1, 2, &[0; 2]).unwrap_err(),
            PreprocessError::Channels(2)
        );
    }

    #[test]
    fn tf_crop_window_matches_tensorflow() {
        let p = Preprocess::efficientnet_lite();
        // 0.875 * 375 = 328.125 -> 328; margins (500 - 328 + 1) // 2 and (375 - 328 + 1) // 2.
        assert_eq!(p.tf_crop_window(500, 375), (328, 86, 24));
        assert_eq!(p.tf_crop_window(375, 500), (328, 24, 86));
        assert_eq!(p.tf_crop_window(256, 256), (224, 16, 16));
        assert_eq!(p.tf_crop_window(1, 1), (1, 0, 0));
    }

    #[test]
    fn legacy_bicubic_weights_sum_to_one_and_interpolate_exactly_on_the_grid() {
        let taps = LegacyBicubic::new(328, 224);
        for i in 0..224 {
            let (_, w) = taps.at(i);
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{i}: {w:?}");
        }
        // Output 0 sits on source 0 (legacy grid, no half-pixel shift): the edge pixel, clamped.
        assert_eq!(taps.at(0), (&[0, 0, 1, 2], &[0.0, 1.0, 0.0, 0.0]));
        // Same size: every output is its source pixel.
        let same = LegacyBicubic::new(10, 10);
        for i in 0..10 {
            let (idx, w) = same.at(i);
            assert_eq!(idx[1], i);
            assert_eq!(w, &[0.0, 1.0, 0.0, 0.0]);
        }
    }

    /// When the crop is already 224 pixels (a 256x256 photo), the TensorFlow transform is the
    /// crop itself, scaled by `(x - 127) / 128`.
    #[test]
    fn tf_transform_of_a_256_square_is_its_centre() {
        let (w, h) = (256, 256);
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let out = Preprocess::efficientnet_lite().apply(&ImageView::new(w, h, 3, &px).unwrap());
        let plane = 224 * 224;
        for (y, x, c) in [(0, 0, 0), (5, 100, 1), (223, 223, 2), (120, 7, 0)] {
            let v = px[((y + 16) * w + x + 16) * 3 + c] as f32;
            let got = out[c * plane + y * 224 + x];
            assert!(
                (got - (v - 127.0) / 128.0).abs() < 1e-5,
                "({y}, {x}, {c}): {got}"
            );
        }
    }

    #[test]
    fn tf_transform_keeps_a_solid_colour() {
        let px = solid(500, 375, [255, 0, 128]);
        let out = Preprocess::efficientnet_lite().apply(&ImageView::new(500, 375, 3, &px).unwrap());
        let plane = 224 * 224;
        assert_eq!(out.len(), 3 * plane);
        for (i, v) in [
            (0, 255.0),
            (plane + 77, 0.0),
            (2 * plane + plane - 1, 128.0),
        ] {
            assert!((out[i] - (v - 127.0) / 128.0).abs() < 1e-4, "{}", out[i]);
        }
    }

    /// Model files written before the choice existed have no `resampling` key: torchvision's.
    #[test]
    fn old_metadata_reads_as_torchvision() {
        let old =
            r#"{"resize":256,"crop":224,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}"#;
        let p: Preprocess = serde_json::from_str(old).unwrap();
        assert_eq!(p, Preprocess::torchvision());
    }

    #[test]
    fn tiny_image_is_upscaled() {
        let px = solid(1, 1, [200, 100, 50]);
        for p in [Preprocess::torchvision(), Preprocess::efficientnet_lite()] {
            let out = p.apply(&ImageView::new(1, 1, 3, &px).unwrap());
            assert_eq!(out.len(), 3 * 224 * 224);
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }
}
