//! Image preprocessing as pure maths over `u8` pixel buffers.
//!
//! Reproduces torchvision's ImageNet evaluation transform for MobileNetV2
//! (`Resize(256)`, `CenterCrop(224)`, `ToTensor()`, `Normalize(mean, std)`) on PIL images:
//! the resize is PIL's antialiased bilinear resampling (`Image.resize(..., BILINEAR)`, see
//! Pillow's `libImaging/Resample.c`), a separable triangle filter whose support widens with the
//! downscale factor. Both passes round to `u8` as PIL does, so results agree with PyTorch to
//! about one grey level. Only the pixels inside the centre crop are computed.

use thiserror::Error;

/// Channel means of ImageNet in `[0, 1]` units (torchvision's `Normalize`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// Channel standard deviations of ImageNet in `[0, 1]` units.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

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

/// The evaluation transform's parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// The shorter side is resized to this many pixels (torchvision: 256).
    pub resize: usize,
    /// Side of the square centre crop, the network's input size (224).
    pub crop: usize,
    /// Per-channel mean, `[0, 1]` units.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, `[0, 1]` units.
    pub std: [f32; 3],
}

impl Default for Preprocess {
    fn default() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }
}

impl Preprocess {
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

    /// Resize, centre-crop and normalise one image.
    ///
    /// Returns the network input as a planar `[3, crop, crop]` buffer (CHW, channel order RGB),
    /// in normalised units `(x / 255 - mean) / std`.
    pub fn apply(&self, image: &ImageView<'_>) -> Vec<f32> {
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
                    let v = to_u8(acc[c]) / 255.0;
                    out[c * plane + y * crop + x] = (v - self.mean[c]) / self.std[c];
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
    fn tiny_image_is_upscaled() {
        let px = solid(1, 1, [200, 100, 50]);
        let out = Preprocess::default().apply(&ImageView::new(1, 1, 3, &px).unwrap());
        assert_eq!(out.len(), 3 * 224 * 224);
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
