//! The native command line, `whisker train | predict | eval`, on the same core as the web app.

mod data;
mod error;
pub mod images;

pub use error::CliError;

use crate::core::metrics::{ConfusionMatrix, argmax, softmax};
use crate::core::preprocess::Preprocess;
use crate::ml::backbone::{Backbone, BackboneKind};
use crate::ml::classifier::Classifier;
use crate::ml::features::{EXTRACT_BATCH, cached_shape, extract};
use crate::ml::model_file::{self, ModelMeta};
use crate::ml::pipeline::{Phase, Progress, TrainSettings, fit};
use crate::ml::trainer::read_rows;
use crate::ml::weights::{self, Precision};
use burn::prelude::*;
use burn::tensor::TensorData;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Train and use image classifiers on a pretrained MobileNetV2.
#[derive(Debug, Parser)]
#[command(name = "whisker", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a classifier on DATA_DIR (one sub-folder of photos per class).
    Train(TrainArgs),
    /// Classify photos with a trained model: one line per photo.
    Predict {
        /// The model file written by `whisker train`.
        model: PathBuf,
        /// Photos to classify.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Measure a model on DIR (one sub-folder per class): accuracy, per class, confusion matrix.
    Eval {
        /// The model file written by `whisker train`.
        model: PathBuf,
        /// Labelled photos, one sub-folder per class.
        dir: PathBuf,
        /// A JSON report instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Where the network runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Backbone record (default: static/models/mobilenet_v2.f32.bpk).
    #[arg(long)]
    weights: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// Training photos, one sub-folder per class.
    data_dir: PathBuf,
    /// Where to write the model (safetensors).
    #[arg(long)]
    out: PathBuf,
    /// Validation photos (same class folders); default: a seeded share of DATA_DIR.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Passes over the training photos.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Learning rate of the head (AdamW).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Photos per optimisation step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,
    /// Share of each class held out for validation when --val is not given.
    #[arg(long, default_value_t = 0.2)]
    val_share: f32,
    /// Hidden units of the head (0: a linear softmax head).
    #[arg(long, default_value_t = 0)]
    hidden: usize,
    /// Unfreeze and fine-tune the last N inverted residual blocks (and the final 1x1 conv).
    #[arg(long, default_value_t = 0)]
    fine_tune_blocks: usize,
    /// Epochs of fine-tuning.
    #[arg(long, default_value_t = 10)]
    fine_tune_epochs: usize,
    /// Learning rate of fine-tuning.
    #[arg(long, default_value_t = 1e-4)]
    fine_tune_lr: f64,
    /// Use a randomly initialised backbone (the baseline that shows what transfer brings).
    #[arg(long)]
    random_backbone: bool,
    /// Keep the final model trained on the training share only (by default it is trained again
    /// on all photos for the epoch count validation chose).
    #[arg(long)]
    no_refit: bool,
    /// Seed of the split, initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// burn's CPU backend (flex).
    Cpu,
    /// The GPU through wgpu (build with `--features wgpu`).
    Wgpu,
}

/// Runs the CLI; errors are for the caller to print as one line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train(args) => train(args),
        Command::Predict {
            model,
            images,
            json,
            run,
        } => predict(&model, &images, json, &run),
        Command::Eval {
            model,
            dir,
            json,
            run,
        } => eval(&model, &dir, json, &run),
    }
}

fn device(backend: BackendArg) -> Result<Device, CliError> {
    match backend {
        BackendArg::Cpu => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        BackendArg::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        BackendArg::Wgpu => Err(CliError::Backend(
            "this whisker was built without the wgpu backend: rebuild with `cargo build --features wgpu`"
                .into(),
        )),
    }
}

/// The default record: `static/models/` of the working directory, else of this checkout.
fn record_path(weights: &Option<PathBuf>) -> PathBuf {
    if let Some(w) = weights {
        return w.clone();
    }
    let record = BackboneKind::MobileNetV2.record_file(Precision::F32);
    let local = Path::new("static/models").join(record);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(record)
}

fn pretrained(run: &RunArgs, device: &Device) -> Result<Backbone, CliError> {
    let path = record_path(&run.weights);
    if !path.is_file() {
        return Err(CliError::MissingWeights { path });
    }
    Ok(weights::load_record_file(
        BackboneKind::MobileNetV2,
        &path,
        device,
    )?)
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed_precise}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Preprocesses and runs photos through the backbone up to `cut`: `[N, C, H, W]` activations.
fn embed(
    backbone: &Backbone,
    paths: &[PathBuf],
    cut: usize,
    preprocess: &Preprocess,
    device: &Device,
) -> Result<Tensor<4>, CliError> {
    let pb = bar(paths.len(), "extracting");
    let mut flat = Vec::new();
    for chunk in paths.chunks(EXTRACT_BATCH) {
        let inputs = chunk
            .iter()
            .map(|p| images::load_input(p, preprocess))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        for row in crate::block_on(extract(
            backbone,
            &refs,
            cut,
            EXTRACT_BATCH,
            device,
            &mut async || {},
        ))? {
            flat.extend(row);
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let [c, h, w] = cached_shape(backbone.kind(), cut);
    Ok(Tensor::from_data(
        TensorData::new(flat, [paths.len(), c, h, w]),
        device,
    ))
}

fn train(args: TrainArgs) -> Result<(), CliError> {
    let device = device(args.run.backend)?;
    let mut photos = data::read_classes(&args.data_dir)?;
    let settings = TrainSettings {
        head: crate::ml::trainer::PhaseConfig {
            epochs: args.epochs,
            learning_rate: args.lr,
            batch_size: args.batch,
            weight_decay: args.weight_decay,
            ..Default::default()
        },
        fine_tune: crate::ml::trainer::PhaseConfig {
            epochs: args.fine_tune_epochs,
            learning_rate: args.fine_tune_lr,
            batch_size: args.batch,
            weight_decay: args.weight_decay,
            ..TrainSettings::default().fine_tune
        },
        fine_tune_blocks: args.fine_tune_blocks,
        hidden: (args.hidden > 0).then_some(args.hidden),
        val_share: if args.val.is_some() {
            0.0
        } else {
            args.val_share
        },
        seed: args.seed,
        // An explicit --val folder is for measuring, never trained on.
        refit: args.val.is_none() && !args.no_refit,
    };
    settings.validate()?;
    let counts: Vec<String> = photos
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{c} ({})",
                photos.labels.iter().filter(|&&l| l == i).count()
            )
        })
        .collect();
    println!("classes: {}", counts.join(", "));

    // An explicit validation folder is appended after the training photos.
    let n_train = photos.paths.len();
    if let Some(val_dir) = &args.val {
        let val = data::read_known_classes(val_dir, &photos.classes)?;
        photos.paths.extend(val.paths);
        photos.labels.extend(val.labels);
    }
    let split = if args.val.is_some() {
        crate::core::dataset::Split {
            train: (0..n_train).collect(),
            val: (n_train..photos.paths.len()).collect(),
        }
    } else {
        settings.split(&photos.labels)
    };

    let backbone = if args.random_backbone {
        println!("backbone: random initialisation (seed {})", args.seed);
        weights::random_backbone(BackboneKind::MobileNetV2, args.seed, &device)
    } else {
        pretrained(&args.run, &device)?
    };
    let preprocess = Preprocess::default();
    let activations = embed(
        &backbone,
        &photos.paths,
        settings.cut_stage(backbone.kind()),
        &preprocess,
        &device,
    )?;

    let pb = bar(1, "training");
    let mut observer = async |p: Progress| {
        pb.set_length(p.total as u64);
        pb.set_position(p.done as u64);
        pb.set_message(match p.phase {
            Phase::FineTuning => "fine-tuning",
            Phase::Refitting => "all photos",
            _ => "training",
        });
        if let Some(e) = p.epoch {
            let val = match (e.val_loss, e.val_accuracy) {
                (Some(l), Some(a)) => format!("  val loss {l:.4}  val acc {:.1}%", a * 100.0),
                _ => String::new(),
            };
            let line = format!(
                "{} epoch {:>3}  loss {:.4}  acc {:.1}%{val}",
                match p.phase {
                    Phase::FineTuning => "fine-tune",
                    Phase::Refitting => "all photos",
                    _ => "head",
                },
                e.epoch,
                e.train_loss,
                e.train_accuracy * 100.0
            );
            // A hidden bar (output not a terminal) drops `println`, but logs want the epochs.
            if pb.is_hidden() {
                println!("{line}");
            } else {
                pb.println(line);
            }
        }
        true
    };
    let outcome = crate::block_on(fit(
        &backbone,
        activations,
        &photos.labels,
        photos.classes.len(),
        split,
        &settings,
        &mut observer,
    ))?;
    pb.finish_and_clear();

    let mut meta = ModelMeta::new(
        backbone.kind(),
        photos.classes.clone(),
        settings.fine_tune_blocks,
        settings.hidden,
    );
    if args.random_backbone {
        meta.random_backbone_seed = Some(args.seed);
    }
    let bytes = model_file::to_bytes(&outcome.classifier, &meta)?;
    std::fs::write(&args.out, bytes).map_err(|e| CliError::io(&args.out, e))?;
    if let Some(v) = &outcome.validation {
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
            v.confusion.accuracy(),
            v.confusion.total()
        );
    }
    println!("saved {}", args.out.display());
    Ok(())
}

/// A model file with the backbone it needs.
struct LoadedModel {
    backbone: Backbone,
    classifier: Classifier,
    meta: ModelMeta,
}

fn load_model(path: &Path, run: &RunArgs, device: &Device) -> Result<LoadedModel, CliError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let (classifier, meta) = model_file::from_bytes(&name, &bytes, device)?;
    let backbone = match meta.random_backbone_seed {
        Some(seed) => weights::random_backbone(BackboneKind::MobileNetV2, seed, device),
        None => pretrained(run, device)?,
    };
    meta.check_backbone(&name, backbone.kind())?;
    Ok(LoadedModel {
        backbone,
        classifier,
        meta,
    })
}

/// Class probabilities of each photo, one row per path.
fn probabilities(
    model: &LoadedModel,
    paths: &[PathBuf],
    device: &Device,
) -> Result<Vec<Vec<f32>>, CliError> {
    let cut = model.classifier.input_stage();
    let acts = embed(&model.backbone, paths, cut, &model.meta.preprocess, device)?;
    let logits = crate::block_on(read_rows(model.classifier.forward(acts)))?;
    Ok(logits.iter().map(|l| softmax(l)).collect())
}

fn predict(model: &Path, images: &[PathBuf], json: bool, run: &RunArgs) -> Result<(), CliError> {
    let device = device(run.backend)?;
    let model = load_model(model, run, &device)?;
    let probs = probabilities(&model, images, &device)?;
    let classes = &model.meta.classes;
    for (path, p) in images.iter().zip(probs) {
        let top = argmax(&p);
        if json {
            let by_class: serde_json::Map<String, serde_json::Value> = classes
                .iter()
                .zip(&p)
                .map(|(c, v)| (c.clone(), serde_json::json!(v)))
                .collect();
            let line = serde_json::json!({
                "file": path.display().to_string(),
                "class": classes[top],
                "probability": p[top],
                "probabilities": by_class,
            });
            println!("{line}");
        } else {
            let all: Vec<String> = classes
                .iter()
                .zip(&p)
                .map(|(c, v)| format!("{c} {v:.4}"))
                .collect();
            println!(
                "{}\t{}\t{:.4}\t({})",
                path.display(),
                classes[top],
                p[top],
                all.join(", ")
            );
        }
    }
    Ok(())
}

fn eval(model_path: &Path, dir: &Path, json: bool, run: &RunArgs) -> Result<(), CliError> {
    let device = device(run.backend)?;
    let model = load_model(model_path, run, &device)?;
    let classes = &model.meta.classes;
    let photos = data::read_known_classes(dir, classes)?;
    let probs = probabilities(&model, &photos.paths, &device)?;
    let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let m = ConfusionMatrix::from_predictions(classes.len(), &photos.labels, &predicted);
    let per_class = m.per_class_accuracy();
    if json {
        let report = serde_json::json!({
            "photos": m.total(),
            "accuracy": m.accuracy(),
            "classes": classes,
            "per_class_accuracy": per_class,
            "confusion_matrix": m.counts,
        });
        println!("{report}");
        return Ok(());
    }
    println!("photos: {}", m.total());
    for (c, acc) in classes.iter().zip(&per_class) {
        match acc {
            Some(a) => println!("  {c:<16} {:.4}", a),
            None => println!("  {c:<16} (no photos)"),
        }
    }
    println!("confusion matrix (rows: true class, columns: predicted):");
    let width = classes.iter().map(String::len).max().unwrap_or(4).max(5);
    print!("  {:width$}", "");
    for c in classes {
        print!(" {c:>width$}");
    }
    println!();
    for (c, row) in classes.iter().zip(&m.counts) {
        print!("  {c:<width$}");
        for v in row {
            print!(" {v:>width$}");
        }
        println!();
    }
    println!("accuracy: {:.4}", m.accuracy());
    Ok(())
}
