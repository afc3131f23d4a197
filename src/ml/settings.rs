//! Training settings: what a user may choose ([`TrainChoices`]) and the complete, checked
//! settings a run uses ([`TrainSettings`]). Every default lives here, once, for the CLI and the
//! web page alike.

use super::backbone::BackboneKind;
use super::cut::Cut;
use super::cut::cut_points;
use super::error::MlError;
use crate::core::dataset::{Split, stratified_split};
use serde::{Deserialize, Serialize};

/// Everything a training run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Training the head on frozen features.
    pub head: PhaseConfig,
    /// Fine-tuning the last blocks together with the head (only if `fine_tune_blocks > 0`).
    pub fine_tune: PhaseConfig,
    /// Inverted residual blocks to unfreeze, counted from the top (0 = head only).
    pub fine_tune_blocks: usize,
    /// Hidden units of the head; `None` for a linear softmax head.
    pub hidden: Option<usize>,
    /// The stage whose globally pooled output the head trains on, one of
    /// [`cut_points`]; `None` (the default) is the last stage. An earlier one excludes
    /// fine-tuning. Absent from settings serialised before it existed.
    #[serde(default)]
    pub cut_stage: Option<usize>,
    /// Share of each class's photos held out for validation, `[0, 1)`.
    pub val_share: f32,
    /// Seed of the split, the head's initialisation, shuffling and dropout.
    pub seed: u64,
    /// After validating, train again on all photos for the best epoch counts (the final model
    /// then uses every photo; the reported validation is the held-out run's).
    pub refit: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainChoices::default().resolve()
    }
}

/// Fine-tuning pretrained weights wants a learning rate ~10x below the head's (the usual
/// transfer-learning recipe, e.g. the Keras transfer-learning guide's 1e-5 after 1e-3).
const FINE_TUNE_RATE_FACTOR: f64 = 0.1;

/// What a user may choose about training; `None` takes the default.
///
/// The CLI fills it from its flags, the page from its settings form; both then call
/// [`TrainChoices::settings`], so they train the same way for the same choices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainChoices {
    /// Passes over the photos in the head phase (default 30).
    pub epochs: Option<usize>,
    /// AdamW learning rate of the head phase (default 1e-3).
    pub learning_rate: Option<f64>,
    /// Photos per optimisation step, both phases (default 16).
    pub batch_size: Option<usize>,
    /// AdamW's decoupled weight decay, both phases (default 1e-4).
    pub weight_decay: Option<f32>,
    /// Blocks to fine-tune (default 0: head only).
    pub fine_tune_blocks: Option<usize>,
    /// Passes over the photos while fine-tuning (default 10).
    pub fine_tune_epochs: Option<usize>,
    /// Learning rate while fine-tuning (default: a tenth of the head's).
    pub fine_tune_learning_rate: Option<f64>,
    /// Hidden units of the head (default none: linear; 0 also means none).
    pub hidden: Option<usize>,
    /// The stage whose pooled output the head trains on (default: the last stage).
    pub cut_stage: Option<usize>,
    /// Share of each class held out for validation (default 0.2).
    pub val_share: Option<f32>,
    /// Seed (default 42).
    pub seed: Option<u64>,
    /// Train again on all photos after validating (default yes).
    pub refit: Option<bool>,
}

impl TrainChoices {
    /// The complete settings, checked.
    pub fn settings(&self) -> Result<TrainSettings, MlError> {
        let settings = self.resolve();
        settings.validate()?;
        Ok(settings)
    }

    /// The complete settings, checked for the `backbone` they will train on (the stage choice
    /// depends on it).
    pub fn settings_for(&self, backbone: BackboneKind) -> Result<TrainSettings, MlError> {
        let settings = self.resolve();
        settings.validate_for(backbone)?;
        Ok(settings)
    }

    /// The complete settings, unchecked.
    fn resolve(&self) -> TrainSettings {
        let base = PhaseConfig::default();
        let batch_size = self.batch_size.unwrap_or(base.batch_size);
        let weight_decay = self.weight_decay.unwrap_or(base.weight_decay);
        let learning_rate = self.learning_rate.unwrap_or(base.learning_rate);
        TrainSettings {
            head: PhaseConfig {
                epochs: self.epochs.unwrap_or(base.epochs),
                learning_rate,
                batch_size,
                weight_decay,
                ..base.clone()
            },
            fine_tune: PhaseConfig {
                epochs: self.fine_tune_epochs.unwrap_or(10),
                learning_rate: self
                    .fine_tune_learning_rate
                    .unwrap_or(learning_rate * FINE_TUNE_RATE_FACTOR),
                batch_size,
                weight_decay,
                patience: 4,
                ..base
            },
            fine_tune_blocks: self.fine_tune_blocks.unwrap_or(0),
            hidden: self.hidden.filter(|&h| h > 0),
            cut_stage: self.cut_stage,
            val_share: self.val_share.unwrap_or(0.2),
            seed: self.seed.unwrap_or(42),
            refit: self.refit.unwrap_or(true),
        }
    }
}

impl TrainSettings {
    /// Checks the settings for training on `backbone`, in words a user can act on: everything
    /// [`TrainSettings::validate`] checks, and the cut stage (one of `backbone`'s
    /// [`cut_points`], and the last one when fine-tuning).
    pub fn validate_for(&self, backbone: BackboneKind) -> Result<(), MlError> {
        self.validate()?;
        let Some(stage) = self.cut_stage else {
            return Ok(());
        };
        let points = cut_points(backbone);
        let last = backbone.last_stage();
        if !points.contains(&stage) {
            let [a, b, _] = points;
            return Err(MlError::BadSetting(format!(
                "stage {stage} is not a cut point of {backbone}: choose {a} ({}x{}, {} channels), \
                 {b} ({}x{}, {} channels) or {last} (the last stage, the default and usually the best)",
                backbone.stage_resolution(a),
                backbone.stage_resolution(a),
                backbone.stage_channels(a),
                backbone.stage_resolution(b),
                backbone.stage_resolution(b),
                backbone.stage_channels(b),
            )));
        }
        if stage != last && self.fine_tune_blocks > 0 {
            return Err(MlError::BadSetting(format!(
                "fine-tuning blocks only works on top of the last stage's features, not with the \
                 earlier cut point stage {stage}: fine-tune 0 blocks, or keep the last stage ({last})"
            )));
        }
        Ok(())
    }

    /// Checks what does not depend on the backbone, in words a user can act on (see
    /// [`TrainSettings::validate_for`] for the rest).
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |m: String| Err(MlError::BadSetting(m));
        if self.head.epochs == 0 {
            return bad("train for at least one epoch".into());
        }
        if self.fine_tune_blocks > 0 && self.fine_tune.epochs == 0 {
            return bad("fine-tune for at least one epoch".into());
        }
        if !(0.0..0.9).contains(&self.val_share) {
            return bad(format!(
                "the validation share must be between 0 and 0.9, not {}",
                self.val_share
            ));
        }
        if self.fine_tune_blocks > MAX_FINE_TUNE_BLOCKS {
            return bad(format!(
                "at most {MAX_FINE_TUNE_BLOCKS} blocks can be fine-tuned, not {}",
                self.fine_tune_blocks
            ));
        }
        for (name, p) in [
            ("learning rate", &self.head),
            ("fine-tuning rate", &self.fine_tune),
        ] {
            if !(p.learning_rate > 0.0 && p.learning_rate < 1.0) {
                return bad(format!("the {name} must be between 0 and 1"));
            }
            if p.batch_size == 0 {
                return bad("the batch size must be at least 1".into());
            }
            if !(0.0..1.0).contains(&p.dropout) {
                return bad("dropout must be between 0 and 1".into());
            }
        }
        Ok(())
    }

    /// The seeded, stratified train/validation split of photos with `labels`.
    pub fn split(&self, labels: &[usize]) -> Split {
        stratified_split(labels, self.val_share, self.seed)
    }

    /// The stage of `backbone` whose activations must be extracted and cached: the input of the
    /// fine-tuned blocks, else the stage the head trains on.
    pub fn cut_stage(&self, backbone: BackboneKind) -> usize {
        self.input(backbone).stage
    }

    /// What is extracted and cached of `backbone` for this run: the whole activations below the
    /// fine-tuned blocks, or the pooled output of the head's stage.
    pub fn input(&self, backbone: BackboneKind) -> Cut {
        if self.fine_tune_blocks > 0 {
            Cut::whole(backbone.cut_stage(self.fine_tune_blocks))
        } else {
            Cut::pooled(self.head_stage(backbone))
        }
    }

    /// The stage whose pooled output the head takes: [`TrainSettings::cut_stage`]'s choice, or
    /// the last stage (always, when fine-tuning: see [`TrainSettings::validate_for`]).
    pub fn head_stage(&self, backbone: BackboneKind) -> usize {
        match self.cut_stage {
            Some(stage) if self.fine_tune_blocks == 0 => stage,
            _ => backbone.last_stage(),
        }
    }

    /// Whether this run refits on all photos after validating.
    pub fn refits(&self) -> bool {
        self.refit && self.val_share > 0.0
    }
}

/// Most blocks that can be fine-tuned on any backbone (see
/// [`BackboneKind::max_fine_tune_blocks`] for each one's own limit).
pub const MAX_FINE_TUNE_BLOCKS: usize = 16;

/// Settings of one training phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseConfig {
    /// Passes over the training photos.
    pub epochs: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Photos per optimisation step.
    pub batch_size: usize,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f32,
    /// Dropout probability on the head's hidden layer (unused without one).
    pub dropout: f32,
    /// Stop after this many epochs without a lower validation loss, and keep the best epoch's
    /// weights. 0 disables early stopping.
    pub patience: usize,
}

impl Default for PhaseConfig {
    fn default() -> Self {
        // A small learning rate, as transfer learning wants; AdamW's default betas.
        Self {
            epochs: 30,
            learning_rate: 1e-3,
            batch_size: 16,
            weight_decay: 1e-4,
            dropout: 0.2,
            patience: 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_under_the_limit_for_every_backbone() {
        for kind in BackboneKind::ALL {
            assert!(kind.max_fine_tune_blocks() <= MAX_FINE_TUNE_BLOCKS);
        }
    }

    #[test]
    fn defaults_are_the_recipe() {
        let s = TrainSettings::default();
        assert_eq!(s, TrainChoices::default().settings().unwrap());
        assert_eq!(s.head.epochs, 30);
        assert_eq!(s.head.learning_rate, 1e-3);
        assert_eq!(s.head.batch_size, 16);
        assert_eq!(s.fine_tune.epochs, 10);
        assert!((s.fine_tune.learning_rate - 1e-4).abs() < 1e-12);
        assert_eq!(s.fine_tune_blocks, 0);
        assert_eq!(s.hidden, None);
        assert_eq!(s.val_share, 0.2);
        assert!(s.refit);
    }

    #[test]
    fn fine_tuning_rate_follows_the_head_unless_chosen() {
        let follow = TrainChoices {
            learning_rate: Some(5e-3),
            ..Default::default()
        };
        let s = follow.settings().unwrap();
        assert!((s.fine_tune.learning_rate - 5e-4).abs() < 1e-12);
        let chosen = TrainChoices {
            learning_rate: Some(5e-3),
            fine_tune_learning_rate: Some(2e-5),
            batch_size: Some(8),
            ..Default::default()
        };
        let s = chosen.settings().unwrap();
        assert_eq!(s.fine_tune.learning_rate, 2e-5);
        assert_eq!(s.fine_tune.batch_size, 8);
    }

    #[test]
    fn bad_choices_are_refused_in_words() {
        for bad in [
            TrainChoices {
                epochs: Some(0),
                ..Default::default()
            },
            TrainChoices {
                learning_rate: Some(2.0),
                ..Default::default()
            },
            TrainChoices {
                fine_tune_blocks: Some(MAX_FINE_TUNE_BLOCKS + 1),
                ..Default::default()
            },
            TrainChoices {
                val_share: Some(0.95),
                ..Default::default()
            },
            TrainChoices {
                batch_size: Some(0),
                ..Default::default()
            },
        ] {
            let e = bad.settings().unwrap_err();
            assert!(matches!(e, MlError::BadSetting(_)), "{e:?}");
        }
        for kind in BackboneKind::ALL {
            assert!(TrainChoices::default().settings_for(kind).is_ok());
        }
        let zero_hidden = TrainChoices {
            hidden: Some(0),
            ..Default::default()
        };
        assert_eq!(zero_hidden.settings().unwrap().hidden, None);
    }

    fn stage_error(choices: TrainChoices, kind: BackboneKind) -> String {
        match choices.settings_for(kind) {
            Err(MlError::BadSetting(m)) => m,
            other => panic!("{kind}: {other:?}"),
        }
    }

    #[test]
    fn the_cut_stage_is_one_of_the_backbones_cut_points() {
        for kind in BackboneKind::ALL {
            let [a, b, last] = cut_points(kind);
            for stage in [a, b, last] {
                let s = TrainChoices {
                    cut_stage: Some(stage),
                    ..Default::default()
                }
                .settings_for(kind)
                .unwrap();
                assert_eq!(s.cut_stage, Some(stage));
                assert_eq!(s.head_stage(kind), stage);
                assert_eq!(s.input(kind), Cut::pooled(stage));
                assert_eq!(s.cut_stage(kind), stage);
            }
            let default = TrainSettings::default();
            assert_eq!(default.cut_stage, None);
            assert_eq!(default.input(kind), Cut::pooled(last));

            // A stage between cut points, and one past the last: refused, naming the choices.
            for stage in [a + 1, last + 1] {
                let m = stage_error(
                    TrainChoices {
                        cut_stage: Some(stage),
                        ..Default::default()
                    },
                    kind,
                );
                assert!(
                    m.contains(&format!("stage {stage} is not a cut point")),
                    "{m}"
                );
                for point in [a, b, last] {
                    assert!(m.contains(&point.to_string()), "{m}");
                }
                assert!(m.contains("default"), "{m}");
            }
        }
    }

    #[test]
    fn fine_tuning_needs_the_last_stage() {
        for kind in BackboneKind::ALL {
            let [a, b, last] = cut_points(kind);
            for stage in [a, b] {
                let m = stage_error(
                    TrainChoices {
                        cut_stage: Some(stage),
                        fine_tune_blocks: Some(2),
                        ..Default::default()
                    },
                    kind,
                );
                assert!(m.contains("fine-tun") && m.contains("last stage"), "{m}");
                assert!(m.contains(&format!("stage {stage}")), "{m}");
            }
            // Naming the last stage explicitly is the default, fine-tuning included.
            let s = TrainChoices {
                cut_stage: Some(last),
                fine_tune_blocks: Some(2),
                ..Default::default()
            }
            .settings_for(kind)
            .unwrap();
            assert_eq!(s.input(kind), Cut::whole(kind.cut_stage(2)));
            assert_eq!(s.head_stage(kind), last);
        }
    }

    /// Settings serialised before the cut stage existed (the page's saved projects, the engine's
    /// messages) still read, as the last stage.
    #[test]
    fn older_settings_read_as_the_last_stage() {
        let mut value = serde_json::to_value(TrainSettings::default()).unwrap();
        value.as_object_mut().unwrap().remove("cut_stage").unwrap();
        let back: TrainSettings = serde_json::from_value(value).unwrap();
        assert_eq!(back, TrainSettings::default());
        assert_eq!(back.cut_stage, None);
    }
}
