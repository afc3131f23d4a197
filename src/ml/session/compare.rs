//! After a training run, on the same photos, split and settings: what the pretrained weights
//! brought (the same head trained on a random backbone's features, see [`crate::ml::baseline`])
//! and which cut point of the pretrained backbone serves these photos best
//! ([`crate::ml::layers`]). Both train heads only and leave the session's model alone.

use super::{LastRun, Session, SessionError, TrainingGuard};
use crate::core::dataset::PhotoId;
use crate::core::output_check::{chance_accuracy, chance_bar, check_outputs};
use crate::ml::backbone::Backbone;
use crate::ml::baseline::{CALIBRATION_PHOTOS, calibrated_random_backbone};
use crate::ml::cut::cut_points;
use crate::ml::error::MlError;
use crate::ml::layers::extract_pooled;
use crate::ml::probe::fit_head;
use crate::ml::progress::{Phase, Progress};
use crate::ml::reports::{BaselineReport, LayerRow};
use crate::ml::settings::TrainSettings;
use crate::ml::transfer::{TransferError, probe_layer};
use std::rc::Rc;
use web_time::Instant;

impl Session {
    /// The last run's photos, split and settings, head only and without the refit (only the
    /// held-out run is compared). [`MlError::BadSetting`] (in words a user can act on) before
    /// any training and when the run held no photo out.
    fn comparable_run(&self) -> Result<(Rc<LastRun>, TrainSettings), MlError> {
        let run = self
            .last_run
            .borrow()
            .clone()
            .ok_or_else(|| MlError::BadSetting("train a model first".into()))?;
        if run.split.val.is_empty() {
            return Err(MlError::BadSetting(
                "no photos were held out to compare on: raise the validation share".into(),
            ));
        }
        // Head only: the head stage stays the run's (see `TrainSettings::head_stage`).
        let settings = TrainSettings {
            fine_tune_blocks: 0,
            cut_stage: Some(run.settings.head_stage(self.backbone.kind())),
            refit: false,
            ..run.settings.clone()
        };
        Ok((run, settings))
    }

    /// Pooled outputs of `backbone` at `cuts` (ascending) for the run's photos, loading them
    /// `extract_batch` at a time (`out[c][i]`, see [`extract_pooled`]). `observer` sees
    /// [`Phase::Extracting`] progress; `false` stops.
    async fn pooled_at<P>(
        &self,
        backbone: &Backbone,
        ids: &[PhotoId],
        cuts: &[usize],
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        observer: &mut impl AsyncFnMut(Progress) -> bool,
    ) -> Result<Vec<Vec<Vec<f32>>>, SessionError<P>> {
        let mut out = vec![Vec::with_capacity(ids.len()); cuts.len()];
        let pause = self.pause.clone();
        for (n, chunk) in ids.chunks(self.extract_batch).enumerate() {
            let progress = Progress {
                phase: Phase::Extracting,
                done: n * self.extract_batch,
                total: ids.len(),
                epoch: None,
            };
            if !observer(progress).await {
                return Err(SessionError::Stopped);
            }
            let mut inputs = Vec::with_capacity(chunk.len());
            for &id in chunk {
                inputs.push(load(id).await.map_err(SessionError::Photo)?);
            }
            let slices: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
            // One pass up to the deepest cut: as many photos as the device allows there.
            let deepest = cuts.last().copied().unwrap_or(0);
            let pooled = extract_pooled(
                backbone,
                &slices,
                cuts,
                self.extract_batch_to(deepest),
                &self.device,
                &mut async || pause().await,
            )
            .await?;
            for (o, p) in out.iter_mut().zip(pooled) {
                o.extend(p);
            }
        }
        Ok(out)
    }

    /// "Without transfer": trains the last run's head (same seed, split and epochs; head only)
    /// on a random backbone of the same kind (seed: the run's) whose BatchNorm statistics are
    /// calibrated on up to [`CALIBRATION_PHOTOS`] of the run's training photos, and reports its
    /// validation accuracy, curves and whether its outputs are a real model's. `load` gives a
    /// photo's `[3, 224, 224]` input; `observer` sees extraction and training progress, `false`
    /// stops ([`SessionError::Stopped`]).
    pub async fn baseline<P>(
        &self,
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        observer: &mut impl AsyncFnMut(Progress) -> bool,
    ) -> Result<BaselineReport, SessionError<P>> {
        let (run, settings) = self.comparable_run()?;
        if self.training.replace(true) {
            return Err(SessionError::Busy);
        }
        let _guard = TrainingGuard(&self.training);
        let started = Instant::now();
        let kind = self.backbone.kind();

        let mut calibration = Vec::new();
        for &i in run.split.train.iter().take(CALIBRATION_PHOTOS) {
            calibration.push(load(run.photos[i].id).await.map_err(SessionError::Photo)?);
        }
        let slices: Vec<&[f32]> = calibration.iter().map(Vec::as_slice).collect();
        let pause = self.pause.clone();
        let random = calibrated_random_backbone(
            kind,
            settings.seed,
            &slices,
            // Calibration runs every stage.
            self.extract_batch_to(kind.last_stage()),
            &self.device,
            &mut async || pause().await,
        )
        .await?;
        drop(calibration);

        let ids: Vec<PhotoId> = run.photos.iter().map(|p| p.id).collect();
        // The same layer the run's head trained on (the last stage unless a cut point was set).
        let stage = settings.head_stage(kind);
        let features = self
            .pooled_at(&random, &ids, &[stage], load, observer)
            .await?
            .remove(0);
        let labels: Vec<usize> = run.photos.iter().map(|p| p.label).collect();
        let outcome = fit_head(
            &features,
            &labels,
            run.classes,
            run.split.clone(),
            &settings,
            &self.device,
            observer,
        )
        .await?;
        if outcome.stopped {
            return Err(SessionError::Stopped);
        }
        let validation = outcome
            .validation
            .ok_or_else(|| MlError::BadSetting("no validation photos".into()))?;
        let val_labels: Vec<usize> = run.split.val.iter().map(|&i| labels[i]).collect();
        let chance = chance_accuracy(&val_labels, run.classes);
        Ok(BaselineReport {
            accuracy: validation.confusion.accuracy(),
            history: outcome.history,
            fault: check_outputs(&validation.probabilities, &val_labels).err(),
            chance,
            chance_bar: chance_bar(chance, val_labels.len()),
            val_count: val_labels.len(),
            seed: settings.seed,
            stage,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// "Compare layers": for each cut point of the backbone ([`cut_points`], ascending; the last
    /// is what training uses), the expected accuracy (k-NN on the last run's training photos) and
    /// the validation accuracy of the last run's head (head only, same split and seed) trained
    /// on that stage's pooled output. One backbone pass over the photos up to the deepest earlier
    /// cut; the last stage's features come from the cache when present.
    pub async fn compare_layers<P>(
        &self,
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        observer: &mut impl AsyncFnMut(Progress) -> bool,
    ) -> Result<Vec<LayerRow>, SessionError<P>> {
        let (run, settings) = self.comparable_run()?;
        if self.training.replace(true) {
            return Err(SessionError::Busy);
        }
        let _guard = TrainingGuard(&self.training);
        let kind = self.backbone.kind();
        let ids: Vec<PhotoId> = run.photos.iter().map(|p| p.id).collect();
        let cuts = cut_points(kind);
        let cached: Option<Vec<Vec<f32>>> = ids.iter().map(|&id| self.embedding(id)).collect();
        let mut pooled = match cached {
            Some(last) => {
                let early = &cuts[..cuts.len() - 1];
                let mut pooled = self
                    .pooled_at(&self.backbone, &ids, early, load, observer)
                    .await?;
                pooled.push(last);
                pooled
            }
            None => {
                self.pooled_at(&self.backbone, &ids, &cuts, load, observer)
                    .await?
            }
        };
        let labels: Vec<usize> = run.photos.iter().map(|p| p.label).collect();
        let mut rows = Vec::with_capacity(cuts.len());
        for (&stage, features) in cuts.iter().zip(pooled.iter_mut()) {
            let features = std::mem::take(features);
            let probe = probe_layer(
                &features,
                &labels,
                run.classes,
                &run.split,
                &settings,
                &self.device,
            )
            .await
            .map_err(|e| match e {
                TransferError::Ml(e) => e,
                other => MlError::BadSetting(other.to_string()),
            })?;
            rows.push(LayerRow {
                stage,
                width: features.first().map_or(0, Vec::len),
                expected: probe.expected.accuracy,
                accuracy: probe.accuracy(),
                beats_chance: probe.beats_chance(),
            });
            (self.pause)().await;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{classes, labelled, photo, session, settings};
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn nothing_to_compare_before_training() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let r = crate::block_on(session.baseline(&mut load, &mut async |_| true));
        assert!(matches!(r, Err(SessionError::Ml(MlError::BadSetting(_)))));
        let r = crate::block_on(session.compare_layers(&mut load, &mut async |_| true));
        assert!(matches!(r, Err(SessionError::Ml(MlError::BadSetting(_)))));
    }

    /// The baseline and the layer table run on the last run's photos and split, and leave its
    /// model alone.
    #[test]
    fn baseline_and_layers_follow_the_last_run() {
        let session = session();
        let photos = labelled(10);
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let report = crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &settings(3),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        let model = session.model().unwrap();

        let mut epochs = 0;
        let baseline = crate::block_on(session.baseline(&mut load, &mut async |p: Progress| {
            epochs += usize::from(p.epoch.is_some());
            true
        }))
        .unwrap();
        assert_eq!(baseline.val_count, report.stats.val_count);
        assert_eq!(baseline.stage, 18);
        assert_eq!(baseline.history.len(), 3);
        assert_eq!(epochs, 3);
        assert!((0.0..=1.0).contains(&baseline.accuracy));
        assert_eq!(baseline.chance, 0.5);
        assert!(baseline.chance_bar > baseline.chance);
        assert!(Rc::ptr_eq(&model, &session.model().unwrap()));
        assert!(!session.is_training());

        let layers =
            crate::block_on(session.compare_layers(&mut load, &mut async |_| true)).unwrap();
        let stages: Vec<usize> = layers.iter().map(|l| l.stage).collect();
        assert_eq!(stages, [7, 14, 18]);
        assert_eq!(layers[2].width, 1280);
        // Ramps and checkerboards: the final features tell them apart (as the preview says).
        assert_eq!(layers[2].expected, 1.0);
        assert!(layers.iter().all(|l| (0.0..=1.0).contains(&l.accuracy)));
    }

    /// A run on an earlier cut point is compared on that layer: the baseline's head learns from
    /// the random network's stage 14 too.
    #[test]
    fn the_baseline_uses_the_runs_layer() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let mut at_14 = settings(2);
        at_14.cut_stage = Some(14);
        crate::block_on(session.train(
            &classes(),
            &labelled(10),
            None,
            &at_14,
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        assert_eq!(session.model().unwrap().classifier.input_stage(), 14);
        let baseline = crate::block_on(session.baseline(&mut load, &mut async |_| true)).unwrap();
        assert_eq!(baseline.history.len(), 2);
        assert_eq!(baseline.stage, 14);
    }

    /// A stopped baseline says so and leaves the session free.
    #[test]
    fn a_stopped_baseline_is_stopped() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        crate::block_on(session.train(
            &classes(),
            &labelled(10),
            None,
            &settings(2),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        let r = crate::block_on(session.baseline(&mut load, &mut async |_| false));
        assert!(matches!(r, Err(SessionError::Stopped)));
        assert!(!session.is_training());
    }
}
