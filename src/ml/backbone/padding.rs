//! Where a convolution's zero padding goes: PyTorch's symmetric padding or TensorFlow's "SAME".
//! Plain arithmetic (no burn), so the stage tables the page reads can use it.

use serde::{Deserialize, Serialize};

/// Where a convolution's zero padding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Padding {
    /// `(k - 1) / 2` pixels on every side, as PyTorch layers are configured (torchvision).
    #[default]
    Symmetric,
    /// TensorFlow's `"SAME"`: the output side is `ceil(input / stride)`, and an odd total padding
    /// puts the extra pixel after (bottom, right). EfficientNet-Lite was trained in TensorFlow with
    /// it: at stride 2 on an even side, a 3x3 kernel gets 0 pixels before and 1 after, a 5x5 one 1
    /// before and 2 after. At stride 1 with an odd kernel it is the same as `Symmetric`.
    TfSame,
}

impl Padding {
    /// Pixels `(before, after)` along one axis of `size` pixels, for a `kernel` at `stride`.
    pub fn amounts(self, size: usize, kernel: usize, stride: usize) -> (usize, usize) {
        match self {
            Padding::Symmetric => ((kernel - 1) / 2, (kernel - 1) / 2),
            Padding::TfSame => {
                // TensorFlow's `get_windowed_output_size` for "SAME".
                let out = size.div_ceil(stride);
                let total = ((out - 1) * stride + kernel).saturating_sub(size);
                (total / 2, total - total / 2)
            }
        }
    }

    /// Whether the padding can be lopsided, so the input must be padded before an unpadded
    /// convolution (burn's convolutions pad both sides alike on every backend).
    pub fn is_explicit(self, stride: usize) -> bool {
        self == Padding::TfSame && stride > 1
    }
}
