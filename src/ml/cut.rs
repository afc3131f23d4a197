//! Where a classifier's input is taken from the frozen backbone ([`Cut`]), and the cut points
//! "compare layers" offers. Plain arithmetic over the stage tables (no burn): the page shares it.

use super::backbone::BackboneKind;

/// Shape `[C, H, W]` of one photo's cached activations at `stage` of `backbone`. The last stage
/// is pooled (`[1280, 1, 1]`): the head only ever sees its mean.
pub fn cached_shape(backbone: BackboneKind, stage: usize) -> [usize; 3] {
    Cut::of(backbone, stage).shape(backbone)
}

/// Where a classifier's input is taken from the frozen backbone, and so what is extracted and
/// cached per photo: the output of `stage`, globally pooled (`[C_stage, 1, 1]`, what a head
/// takes) or whole (`[C_stage, H, W]`, what fine-tuned blocks take).
///
/// The same stage can be wanted both ways (MobileNetV2's stage 14 is a head's cut point and the
/// input of three fine-tuned blocks), so caches are keyed by both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cut {
    /// The last stage run (torchvision numbering, see [`crate::ml::backbone`]).
    pub stage: usize,
    /// Whether its output is globally pooled.
    pub pooled: bool,
}

impl Cut {
    /// The globally pooled output of `stage`.
    pub fn pooled(stage: usize) -> Self {
        Self {
            stage,
            pooled: true,
        }
    }

    /// The whole output of `stage`.
    pub fn whole(stage: usize) -> Self {
        Self {
            stage,
            pooled: false,
        }
    }

    /// What [`cached_shape`] and the engine's extraction (`features::extract`) take at `stage`
    /// of `backbone`: pooled at the last stage, whole before it.
    pub fn of(backbone: BackboneKind, stage: usize) -> Self {
        if stage == backbone.last_stage() {
            Self::pooled(stage)
        } else {
            Self::whole(stage)
        }
    }

    /// Shape `[C, H, W]` of one photo's values at this cut of `backbone` (`H = W = 1` pooled).
    pub fn shape(self, backbone: BackboneKind) -> [usize; 3] {
        let c = backbone.stage_channels(self.stage);
        if self.pooled {
            [c, 1, 1]
        } else {
            let r = backbone.stage_resolution(self.stage);
            [c, r, r]
        }
    }
}

/// The cut points offered by "compare layers": the first stage at 14x14, the first at 7x7, and
/// the final 1280-d features (the default). On MobileNetV2 (torchvision numbering) these are
/// stages 7 (64 channels), 14 (160) and 18.
pub fn cut_points(kind: BackboneKind) -> [usize; 3] {
    let first_at = |side: usize| {
        (0..kind.stages())
            .find(|&s| kind.stage_resolution(s) == side)
            .unwrap_or(kind.last_stage())
    };
    [first_at(14), first_at(7), kind.last_stage()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_shapes() {
        let m = BackboneKind::MobileNetV2;
        assert_eq!(cached_shape(m, 18), [1280, 1, 1]);
        assert_eq!(cached_shape(m, 15), [160, 7, 7]);
        assert_eq!(cached_shape(m, 13), [96, 14, 14]);
        let e = BackboneKind::EfficientNetLite0;
        assert_eq!(cached_shape(e, 17), [1280, 1, 1]);
        assert_eq!(cached_shape(e, 15), [192, 7, 7]);
        assert_eq!(cached_shape(e, 11), [112, 14, 14]);
    }

    #[test]
    fn cut_points_of_each_backbone() {
        assert_eq!(cut_points(BackboneKind::MobileNetV2), [7, 14, 18]);
        for kind in BackboneKind::ALL {
            let [a, b, c] = cut_points(kind);
            assert!(a < b && b < c && c == kind.last_stage(), "{kind}");
            assert_eq!(kind.stage_resolution(a), 14);
            assert_eq!(kind.stage_resolution(b), 7);
        }
    }
}
