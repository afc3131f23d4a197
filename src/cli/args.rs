//! The command line's arguments (clap). Training defaults are not repeated here: a flag left out
//! takes [`crate::ml::settings::TrainChoices`]'s default, the same as the web page's.

use crate::ml::backbone::BackboneKind;
use crate::ml::settings::TrainChoices;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Train and use image classifiers on a pretrained backbone (MobileNetV2 or EfficientNet-Lite0).
#[derive(Debug, Parser)]
#[command(name = "whisker", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a classifier on DATA_DIR (one sub-folder of photos per class).
    Train(TrainArgs),
    /// Classify photos with a trained model: one line per photo.
    Predict(PredictArgs),
    /// Measure a model on DIR (one sub-folder per class): accuracy, per class, confusion matrix.
    Eval(EvalArgs),
    /// What transfer brings on DATA_DIR: expected accuracy, pretrained against random backbone,
    /// and the same per layer.
    Report(ReportArgs),
}

/// Where the network runs and which backbone record it loads.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Where the network runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    pub backend: BackendArg,
    /// Backbone record (default: the backbone's f32 record in static/models/).
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

/// `whisker train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training photos, one sub-folder per class.
    pub data_dir: PathBuf,
    /// Where to write the model (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// The pretrained backbone: mobilenet-v2 (faster) or efficientnet-lite0 (more accurate).
    #[arg(long, default_value = BackboneKind::default().id())]
    pub backbone: BackboneKind,
    /// Validation photos (same class folders); default: a seeded share of DATA_DIR.
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Passes over the training photos [default: 30].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate of the head (AdamW) [default: 0.001].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Photos per optimisation step [default: 16].
    #[arg(long)]
    pub batch: Option<usize>,
    /// AdamW weight decay [default: 0.0001].
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Share of each class held out for validation when --val is not given [default: 0.2].
    #[arg(long)]
    pub val_share: Option<f32>,
    /// Hidden units of the head (0: a linear softmax head) [default: 0].
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Unfreeze and fine-tune the last N inverted residual blocks (and the final 1x1 conv)
    /// [default: 0].
    #[arg(long)]
    pub fine_tune_blocks: Option<usize>,
    /// Epochs of fine-tuning [default: 10].
    #[arg(long)]
    pub fine_tune_epochs: Option<usize>,
    /// Learning rate of fine-tuning [default: a tenth of --lr].
    #[arg(long)]
    pub fine_tune_lr: Option<f64>,
    /// Train the head on the globally pooled output of backbone stage N: 7, 14 or 18 on
    /// mobilenet-v2, 6, 12 or 17 on efficientnet-lite0. The last (18 / 17) is the default and
    /// usually the best (`whisker report` measures each); not with --fine-tune-blocks.
    #[arg(long, value_name = "N")]
    pub cut_stage: Option<usize>,
    /// Use a randomly initialised backbone (the baseline that shows what transfer brings).
    #[arg(long)]
    pub random_backbone: bool,
    /// Keep the final model trained on the training share only (by default it is trained again
    /// on all photos for the epoch count validation chose).
    #[arg(long)]
    pub no_refit: bool,
    /// Seed of the split, initialisation, shuffling and dropout [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// The user's choices; an explicit `--val` folder replaces the held-out share and is never
    /// trained on (no refit).
    pub fn choices(&self) -> TrainChoices {
        let explicit_val = self.val.is_some();
        TrainChoices {
            epochs: self.epochs,
            learning_rate: self.lr,
            batch_size: self.batch,
            weight_decay: self.weight_decay,
            fine_tune_blocks: self.fine_tune_blocks,
            fine_tune_epochs: self.fine_tune_epochs,
            fine_tune_learning_rate: self.fine_tune_lr,
            hidden: self.hidden,
            cut_stage: self.cut_stage,
            val_share: if explicit_val {
                Some(0.0)
            } else {
                self.val_share
            },
            seed: self.seed,
            refit: Some(!explicit_val && !self.no_refit),
        }
    }
}

/// `whisker predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The model file written by `whisker train`.
    pub model: PathBuf,
    /// Photos to classify.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `whisker eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The model file written by `whisker train`.
    pub model: PathBuf,
    /// Labelled photos, one sub-folder per class.
    pub dir: PathBuf,
    /// A JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `whisker report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Training photos, one sub-folder per class.
    pub data_dir: PathBuf,
    /// Validation photos (same class folders); default: a seeded share of DATA_DIR, held out as
    /// `whisker train` holds it out.
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The pretrained backbone: mobilenet-v2 or efficientnet-lite0.
    #[arg(long, default_value = BackboneKind::default().id())]
    pub backbone: BackboneKind,
    /// Seed of the split, the heads and the random backbone [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl ReportArgs {
    /// `whisker train`'s default choices with this command's validation photos. Never a refit:
    /// the report reads the held-out run's validation accuracy, which a refit would not change.
    pub fn choices(&self) -> TrainChoices {
        TrainChoices {
            val_share: self.val.is_some().then_some(0.0),
            seed: self.seed,
            refit: Some(false),
            ..TrainChoices::default()
        }
    }
}

/// The backends the CLI can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// burn's CPU backend (flex).
    Cpu,
    /// The GPU through wgpu (build with `--features wgpu`).
    Wgpu,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::settings::TrainSettings;

    fn train_args(extra: &[&str]) -> TrainArgs {
        let mut argv = vec!["whisker", "train", "data", "--out", "m.safetensors"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Train(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_flags_train_like_the_page() {
        let settings = train_args(&[]).choices().settings().unwrap();
        assert_eq!(settings, TrainSettings::default());
    }

    #[test]
    fn an_explicit_validation_folder_is_never_trained_on() {
        let s = train_args(&["--val", "v", "--lr", "0.01"])
            .choices()
            .settings()
            .unwrap();
        assert_eq!(s.val_share, 0.0);
        assert!(!s.refit);
        assert!((s.fine_tune.learning_rate - 0.001).abs() < 1e-12);
    }

    #[test]
    fn the_cut_stage_is_checked_for_the_chosen_backbone() {
        let mobile = train_args(&["--cut-stage", "14"]);
        let s = mobile.choices().settings_for(mobile.backbone).unwrap();
        assert_eq!(s.cut_stage, Some(14));
        let lite = train_args(&["--cut-stage", "14", "--backbone", "efficientnet-lite0"]);
        let e = lite.choices().settings_for(lite.backbone).unwrap_err();
        assert!(e.to_string().contains("6"), "{e}");
        let tuned = train_args(&["--cut-stage", "7", "--fine-tune-blocks", "1"]);
        assert!(tuned.choices().settings_for(tuned.backbone).is_err());
    }

    /// The help text names exactly each backbone's cut points, the last as the default.
    #[test]
    fn the_cut_stage_help_names_the_cut_points() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        let train = cli.find_subcommand_mut("train").unwrap();
        let help = train
            .get_arguments()
            .find(|a| a.get_id() == "cut_stage")
            .and_then(|a| a.get_long_help().or(a.get_help()))
            .unwrap()
            .to_string();
        for kind in BackboneKind::ALL {
            let [a, b, last] = crate::ml::cut::cut_points(kind);
            let words = format!("{a}, {b} or {last} on {}", kind.id());
            assert!(help.contains(&words), "{words:?} not in {help:?}");
        }
        assert!(help.contains("default") && help.contains("usually the best"));
    }

    #[test]
    fn a_report_trains_its_heads_like_train() {
        let report = |extra: &[&str]| {
            let mut argv = vec!["whisker", "report", "data"];
            argv.extend_from_slice(extra);
            match Cli::parse_from(argv).command {
                Command::Report(args) => args.choices().settings().unwrap(),
                other => panic!("{other:?}"),
            }
        };
        let held_out = report(&[]);
        assert_eq!(
            held_out,
            TrainSettings {
                refit: false,
                ..TrainSettings::default()
            }
        );
        let explicit = report(&["--val", "v", "--seed", "3"]);
        assert_eq!(explicit.val_share, 0.0);
        assert_eq!(explicit.seed, 3);
        assert_eq!(explicit.head, TrainSettings::default().head);
    }
}
