//! EfficientNet-Lite0's stage table: channels, resolutions and peak tensor sizes per stage (see
//! [`super::efficientnet_lite`]). Plain arithmetic (no burn): the page reads it to describe cut
//! points and batch sizes before any engine is loaded.

use super::padding::Padding;

/// Number of stages (stem, 16 blocks, head convolution).
pub const STAGES: usize = 18;
/// Index of the last stage, whose pooled output is the 1280-d feature vector.
pub const LAST_STAGE: usize = STAGES - 1;
/// Width of the pooled feature vector.
pub const FEATURE_DIM: usize = super::FEATURE_DIM;
/// Channels of the stem convolution (not scaled in the Lite variants).
pub(super) const STEM_CHANNELS: usize = 32;

/// The block settings of EfficientNet-B0 and -Lite0 (`r1_k3_s11_e1_i32_o16`, ...): expansion
/// `t`, depthwise kernel `k`, output channels `c`, repeats `n`, stride `s` of the first repeat.
pub(super) const SETTINGS: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 16, 1, 1),
    (6, 3, 24, 2, 2),
    (6, 5, 40, 2, 2),
    (6, 3, 80, 3, 2),
    (6, 5, 112, 3, 1),
    (6, 5, 192, 4, 2),
    (6, 3, 320, 1, 1),
];

/// Output channels of each stage, 0 to 17.
pub fn stage_channels() -> [usize; STAGES] {
    let mut out = [0; STAGES];
    out[0] = STEM_CHANNELS;
    let mut i = 1;
    for (_, _, c, n, _) in SETTINGS {
        for _ in 0..n {
            out[i] = c;
            i += 1;
        }
    }
    out[LAST_STAGE] = FEATURE_DIM;
    out
}

/// Output side, in pixels, of each stage for a 224x224 input.
pub fn stage_resolution(stage: usize) -> usize {
    // Strides 2 happen at stages 0 (stem), 2, 4, 6 and 12.
    let halvings = [0usize, 2, 4, 6, 12]
        .iter()
        .filter(|&&s| s <= stage)
        .count();
    224 >> halvings
}

/// Elements per photo of the largest single tensor stage `stage` creates for a 224x224 input:
/// its input, its widest hidden layer (a block's expansion to `t * C_in` channels, zero-padded
/// first where a stride-2 convolution pads lopsidedly, see [`Padding::TfSame`]) or its output.
/// The backward pass's gradients have the same shapes, so this bounds training too (see
/// [`crate::ml::batch`]).
pub fn stage_peak_elements(stage: usize) -> usize {
    assert!(stage < STAGES, "stage {stage} out of range");
    let channels = stage_channels();
    let (c_in, side_in) = if stage == 0 {
        (3, 224)
    } else {
        (channels[stage - 1], stage_resolution(stage - 1))
    };
    let side_out = stage_resolution(stage);
    // A stride-2 convolution's input is padded before it, as a tensor of its own.
    let padded = |kernel: usize, stride: usize| {
        if stride > 1 {
            let (before, after) = Padding::TfSame.amounts(side_in, kernel, stride);
            side_in + before + after
        } else {
            side_in
        }
    };
    let (input_side, hidden) = match stage {
        0 => (padded(3, 2), 0),
        LAST_STAGE => (side_in, 0),
        k => {
            let (t, kernel, stride) = block_settings(k);
            let side = padded(kernel, stride);
            (side_in, c_in * t * side * side)
        }
    };
    (c_in * input_side * input_side)
        .max(hidden)
        .max(channels[stage] * side_out * side_out)
}

/// Expansion `t`, depthwise kernel and stride of the block at stage `stage` (1 to 16).
fn block_settings(stage: usize) -> (usize, usize, usize) {
    let mut first = 1;
    for (t, k, _, n, s) in SETTINGS {
        if stage < first + n {
            let stride = if stage == first { s } else { 1 };
            return (t, k, stride);
        }
        first += n;
    }
    panic!("stage {stage} is not a block")
}
