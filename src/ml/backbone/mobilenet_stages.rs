//! MobileNetV2's stage table: channels, resolutions and peak tensor sizes per stage (torchvision's
//! `features.0` to `features.18`, see [`super::mobilenet`]). Plain arithmetic (no burn): the page
//! reads it to describe cut points and batch sizes before any engine is loaded.

/// Number of stages of the feature extractor (`features.0` to `features.18`).
pub const STAGES: usize = 19;
/// Index of the last stage, whose pooled output is the 1280-d feature vector.
pub const LAST_STAGE: usize = STAGES - 1;
/// Width of the pooled feature vector.
pub const FEATURE_DIM: usize = super::FEATURE_DIM;

/// torchvision's inverted residual settings: expansion `t`, channels `c`, repeats `n`, stride `s`.
pub(super) const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// Output channels of each stage, `features.0` to `features.18`.
pub fn stage_channels() -> [usize; STAGES] {
    let mut out = [0; STAGES];
    out[0] = 32;
    let mut i = 1;
    for (_, c, n, _) in SETTINGS {
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
    // Strides 2 happen at stages 0, 2, 4, 7 and 14.
    let halvings = [0usize, 2, 4, 7, 14]
        .iter()
        .filter(|&&s| s <= stage)
        .count();
    224 >> halvings
}

/// Elements per photo of the largest single tensor stage `stage` creates for a 224x224 input:
/// its input, its widest hidden layer (a block's expansion to `t * C_in` channels, before the
/// depthwise convolution's stride) or its output. The backward pass's gradients have the same
/// shapes, so this bounds training too (see [`crate::ml::batch`]).
pub fn stage_peak_elements(stage: usize) -> usize {
    assert!(stage < STAGES, "stage {stage} out of range");
    let channels = stage_channels();
    let (c_in, side_in) = if stage == 0 {
        (3, 224)
    } else {
        (channels[stage - 1], stage_resolution(stage - 1))
    };
    let side_out = stage_resolution(stage);
    let hidden = match stage {
        0 | LAST_STAGE => 0,
        k => c_in * block_expansion(k) * side_in * side_in,
    };
    (c_in * side_in * side_in)
        .max(hidden)
        .max(channels[stage] * side_out * side_out)
}

/// Expansion factor `t` of the block at stage `stage` (1 to 17).
fn block_expansion(stage: usize) -> usize {
    let mut first = 1;
    for (t, _, n, _) in SETTINGS {
        if stage < first + n {
            return t;
        }
        first += n;
    }
    panic!("stage {stage} is not a block")
}
