//! `whisker train`: photos in class folders -> a model file.

use super::args::TrainArgs;
use super::data;
use super::error::CliError;
use super::images::load_input;
use super::output::{self, bar, show_progress};
use super::runtime::session;
use crate::core::dataset::PhotoId;
use crate::ml::progress::Progress;
use crate::ml::reports::LabelledPhoto;

/// Trains on `args.data_dir` and writes the model to `args.out`.
pub fn train(args: TrainArgs) -> Result<(), CliError> {
    let settings = args.choices().settings_for(args.backbone)?;
    let mut photos = data::read_classes(&args.data_dir)?;
    let counts: Vec<String> = photos
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} ({})", photos.count(i)))
        .collect();
    println!("classes: {}", counts.join(", "));

    // An explicit validation folder is appended after the training photos.
    let split = match &args.val {
        Some(val_dir) => Some(data::append_validation(&mut photos, val_dir)?),
        None => None,
    };
    let random_seed = args.random_backbone.then_some(settings.seed);
    if let Some(seed) = random_seed {
        println!("backbone: random initialisation (seed {seed})");
    }
    let session = session(&args.run, args.backbone, random_seed)?;
    println!("backbone: {}", args.backbone.name());
    if let Some(stage) = settings
        .cut_stage
        .filter(|&s| s != args.backbone.last_stage())
    {
        println!(
            "cut point: stage {stage} ({} pooled values a photo)",
            args.backbone.stage_channels(stage)
        );
    }

    let labelled: Vec<LabelledPhoto> = photos
        .labels
        .iter()
        .enumerate()
        .map(|(i, &label)| LabelledPhoto {
            id: PhotoId(i as u64),
            label,
        })
        .collect();
    // Each backbone expects its own input scaling (EfficientNet-Lite: TF-Lite's, not ImageNet's).
    let preprocess = args.backbone.preprocess();
    let pb = bar(photos.paths.len(), "extracting");
    let report = crate::block_on(session.train(
        &photos.classes,
        &labelled,
        split,
        &settings,
        &mut async |id: PhotoId| load_input(&photos.paths[id.0 as usize], &preprocess),
        &mut async |p: Progress| {
            show_progress(&pb, &p);
            true
        },
    ))?;
    pb.finish_and_clear();

    let bytes = crate::block_on(session.export_model::<CliError>())?;
    std::fs::write(&args.out, bytes).map_err(|e| CliError::io(&args.out, e))?;
    if let Some(v) = &report.validation {
        let refit = if settings.refit {
            format!(
                "; the saved model is then trained on all {} photos",
                photos.paths.len()
            )
        } else {
            String::new()
        };
        println!(
            "validation accuracy: {:.4} ({} held-out photos{refit})",
            v.accuracy(),
            v.total()
        );
    }
    if let Some(line) = output::fine_tuning(&report.stats.fine_tuning) {
        println!("{line}");
    }
    println!("saved {}", args.out.display());
    Ok(())
}
