//! How many photos one pass may take on a device whose storage buffers are bounded.
//!
//! WebGPU binds every tensor as one storage buffer, and a buffer larger than the device's
//! `maxStorageBufferBindingSize` cannot be bound (burn reports it as an allocation error; on
//! wasm it panics). The default, and the least any WebGPU adapter offers, is 128 MiB, which one
//! MobileNetV2 tensor exceeds at 28 photos (stage 2 expands to `[96, 112, 112]` f32 values,
//! 4.8 MB a photo). So every batch that reaches the GPU is capped by the largest single tensor
//! its pass creates per photo ([`crate::ml::backbone::BackboneKind::stage_peak_elements`]).
//!
//! The caps for a 128 MiB limit (the largest multiple of photos whose largest tensor stays under
//! [`USABLE_SHARE`] of it):
//!
//! | pass | MobileNetV2 | EfficientNet-Lite0 |
//! | --- | --- | --- |
//! | extraction (from the image), fine-tuning or evaluating every block (input: stage 1) | 24 | 23 |
//! | fine-tuning or evaluating from stage 2's activations (15 blocks; Lite0: 14) | 65 | 58 |
//! | fine-tuning or evaluating the last 3 blocks (input: stage 14) | 468 | 468 |
//! | a head alone on the 1280 pooled features | 22,937 | 22,937 |
//!
//! On the CPU backend nothing is bound: [`BatchLimits::UNLIMITED`] leaves every batch as asked.

use super::backbone::BackboneKind;
use super::cut::Cut;

/// WebGPU's default `maxStorageBufferBindingSize`, in bytes (128 MiB): the least any WebGPU
/// adapter offers, and what a device gets unless it asks for more.
pub const WEBGPU_DEFAULT_BINDING_BYTES: u64 = 128 << 20;

/// Share of the binding limit `(numerator, denominator)` a batch's largest tensor may fill. The
/// rest is a margin for what the stage tables do not model: a kernel's padded or aligned
/// allocation, a permuted copy with a few more values.
pub const USABLE_SHARE: (u64, u64) = (7, 8);

/// Bytes of one f32 value.
const F32_BYTES: u64 = 4;

/// The largest batch whose largest single buffer (`per_photo_bytes` per photo, for a tensor
/// whose size grows linearly with the batch) stays within [`USABLE_SHARE`] of `limit_bytes`; at
/// least 1 (one photo that does not fit cannot be split), and unbounded (`usize::MAX`) when a
/// photo takes nothing.
pub fn max_batch(limit_bytes: u64, per_photo_bytes: u64) -> usize {
    if per_photo_bytes == 0 {
        return usize::MAX;
    }
    let (num, den) = USABLE_SHARE;
    let usable = limit_bytes / den * num + limit_bytes % den * num / den;
    usize::try_from(usable / per_photo_bytes)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Bytes per photo of the largest single tensor a pass through stages `from..=to` of `kind`
/// creates, forward or backward (gradients have their activations' shapes); 0 for no stage.
pub fn peak_bytes(kind: BackboneKind, from: usize, to: usize) -> u64 {
    (from..=to)
        .map(|s| kind.stage_peak_elements(s) as u64 * F32_BYTES)
        .max()
        .unwrap_or(0)
}

/// The most photos per pass a device allows: unbounded on the CPU, bounded by the storage-buffer
/// binding limit on WebGPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchLimits {
    /// The device's `maxStorageBufferBindingSize` in bytes, `None` without one.
    binding_bytes: Option<u64>,
}

impl BatchLimits {
    /// No limit: the CPU backend, whose tensors are plain host memory.
    pub const UNLIMITED: Self = Self {
        binding_bytes: None,
    };

    /// Limits of a device that binds at most `bytes` per storage buffer.
    pub fn binding(bytes: u64) -> Self {
        Self {
            binding_bytes: Some(bytes),
        }
    }

    /// The binding limit in bytes, if any.
    pub fn binding_bytes(self) -> Option<u64> {
        self.binding_bytes
    }

    /// Whether batches are bounded (a GPU device, whose kernels are also compiled per shape).
    pub fn is_bounded(self) -> bool {
        self.binding_bytes.is_some()
    }

    /// Most photos per pass of `per_photo_bytes` each (see [`max_batch`]).
    pub fn photos(self, per_photo_bytes: u64) -> usize {
        match self.binding_bytes {
            Some(limit) => max_batch(limit, per_photo_bytes),
            None => usize::MAX,
        }
    }

    /// Most photos per forward or training pass through stages `from..=to` of `kind`.
    pub fn stages(self, kind: BackboneKind, from: usize, to: usize) -> usize {
        self.photos(peak_bytes(kind, from, to))
    }

    /// Most photos per extraction pass, from the image up to stage `to` of `kind`.
    pub fn extract(self, kind: BackboneKind, to: usize) -> usize {
        self.stages(kind, 0, to)
    }

    /// Most photos per pass (training or evaluation) through a classifier of `kind` that takes
    /// `input`: the fine-tuned stages above a whole cut stage, or a head alone on pooled values
    /// (`[C, 1, 1]` a photo).
    pub fn classifier(self, kind: BackboneKind, input: Cut) -> usize {
        if input.pooled {
            let [c, h, w] = input.shape(kind);
            self.photos((c * h * w) as u64 * F32_BYTES)
        } else {
            self.stages(kind, input.stage + 1, kind.last_stage())
        }
    }

    /// Most photos whose values at `cut` of `kind` fit in one buffer: training stacks every
    /// photo's cached values into one `[N, C, H, W]` tensor.
    pub fn stacked(self, kind: BackboneKind, cut: Cut) -> usize {
        let [c, h, w] = cut.shape(kind);
        self.photos((c * h * w) as u64 * F32_BYTES)
    }

    /// `requested` photos per pass, capped at `most`, at least 1.
    pub fn cap(requested: usize, most: usize) -> usize {
        requested.min(most).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::features::EXTRACT_BATCH;

    const MIB: u64 = 1 << 20;

    #[test]
    fn max_batch_keeps_the_margin_and_at_least_one() {
        // 7/8 of 128 MiB is 112 MiB.
        assert_eq!(max_batch(128 * MIB, MIB), 112);
        assert_eq!(max_batch(128 * MIB, 112 * MIB), 1);
        assert_eq!(max_batch(128 * MIB, 113 * MIB), 1, "a photo is never split");
        assert_eq!(max_batch(128 * MIB, 0), usize::MAX);
        assert!(max_batch(u64::MAX, 1) > 1 << 60);
        // Odd limits lose no byte to rounding: 7/8 of 15 is 13.125.
        assert_eq!(max_batch(15, 1), 13);
    }

    #[test]
    fn webgpu_caps_of_each_backbone() {
        let gpu = BatchLimits::binding(WEBGPU_DEFAULT_BINDING_BYTES);
        let m = BackboneKind::MobileNetV2;
        let e = BackboneKind::EfficientNetLite0;
        // Extraction runs stage 2, the largest tensor: a batch of 32 would not fit.
        assert_eq!(gpu.extract(m, m.last_stage()), 24);
        assert_eq!(gpu.extract(e, e.last_stage()), 23);
        for kind in BackboneKind::ALL {
            let cap = gpu.extract(kind, kind.last_stage());
            assert!((8..32).contains(&cap), "{kind}: {cap}");
            // The stem alone is smaller: the cap follows the stages run.
            assert!(gpu.extract(kind, 0) > cap);
            // Every WebGPU device allows the fixed extraction batch of the CLI and comparisons.
            for stage in 0..kind.stages() {
                assert!(gpu.extract(kind, stage) >= EXTRACT_BATCH, "{kind} {stage}");
            }
        }
        // Those passes' largest tensors do not fit 32 (or 64) photos: the caps are needed.
        assert!(32 * peak_bytes(m, 0, m.last_stage()) > WEBGPU_DEFAULT_BINDING_BYTES);
        assert!(32 * peak_bytes(e, 0, e.last_stage()) > WEBGPU_DEFAULT_BINDING_BYTES);
        assert_eq!(gpu.stages(m, 3, m.last_stage()), 65);
        assert_eq!(gpu.stages(e, 3, e.last_stage()), 58);
    }

    /// Fine-tuning the most blocks (from stage 1's activations) at the batch a user may ask for is
    /// capped, as is evaluating those activations at 64; a few blocks leave both alone.
    #[test]
    fn deep_fine_tuning_and_evaluation_are_capped_on_webgpu() {
        let gpu = BatchLimits::binding(WEBGPU_DEFAULT_BINDING_BYTES);
        for kind in BackboneKind::ALL {
            let deepest = Cut::whole(kind.cut_stage(kind.max_fine_tune_blocks()));
            assert_eq!(deepest.stage, 1);
            let most = gpu.classifier(kind, deepest);
            let train = BatchLimits::cap(32, most);
            assert!((8..32).contains(&train), "{kind}: {train}");
            assert!(BatchLimits::cap(64, most) < 64, "{kind}");
            assert!(
                train as u64 * peak_bytes(kind, 2, kind.last_stage())
                    <= WEBGPU_DEFAULT_BINDING_BYTES
            );

            let shallow = Cut::whole(kind.cut_stage(3));
            assert_eq!(BatchLimits::cap(32, gpu.classifier(kind, shallow)), 32);
            assert_eq!(BatchLimits::cap(64, gpu.classifier(kind, shallow)), 64);
            // A head on pooled features: thousands of photos a pass.
            let pooled = Cut::pooled(kind.last_stage());
            assert!(gpu.classifier(kind, pooled) > 10_000);
        }
        assert_eq!(
            gpu.classifier(BackboneKind::MobileNetV2, Cut::whole(14)),
            468
        );
        assert_eq!(
            gpu.classifier(BackboneKind::EfficientNetLite0, Cut::whole(14)),
            468
        );
    }

    /// Training stacks every photo's activations: deep fine-tuning on WebGPU's least limit holds
    /// 146 photos (stage 1's `[16, 112, 112]` f32, 0.8 MB each), pooled features thousands.
    #[test]
    fn stacked_activations_bound_the_photos() {
        let gpu = BatchLimits::binding(WEBGPU_DEFAULT_BINDING_BYTES);
        for kind in BackboneKind::ALL {
            assert_eq!(gpu.stacked(kind, Cut::whole(1)), 146, "{kind}");
            assert!(gpu.stacked(kind, Cut::pooled(kind.last_stage())) > 10_000);
            assert_eq!(
                BatchLimits::UNLIMITED.stacked(kind, Cut::whole(1)),
                usize::MAX
            );
        }
    }

    #[test]
    fn the_cpu_leaves_batches_alone() {
        let cpu = BatchLimits::UNLIMITED;
        assert!(!cpu.is_bounded());
        assert_eq!(BatchLimits::default(), cpu);
        for kind in BackboneKind::ALL {
            assert_eq!(cpu.extract(kind, kind.last_stage()), usize::MAX);
            let deepest = Cut::whole(kind.cut_stage(kind.max_fine_tune_blocks()));
            assert_eq!(BatchLimits::cap(32, cpu.classifier(kind, deepest)), 32);
            assert_eq!(BatchLimits::cap(64, cpu.classifier(kind, deepest)), 64);
        }
        assert_eq!(BatchLimits::cap(0, usize::MAX), 1);
    }

    /// A larger device (SwiftShader binds 1 GiB) allows more.
    #[test]
    fn larger_limits_allow_larger_batches() {
        let m = BackboneKind::MobileNetV2;
        let small = BatchLimits::binding(WEBGPU_DEFAULT_BINDING_BYTES);
        let large = BatchLimits::binding(1 << 30);
        assert_eq!(large.extract(m, m.last_stage()), 195);
        assert!(large.extract(m, 18) > small.extract(m, 18));
    }
}
