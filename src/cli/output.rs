//! What the CLI prints: progress bars, training lines, predictions and evaluation reports.

use crate::core::dataset::Split;
use crate::core::metrics::ConfusionMatrix;
use crate::core::output_check::OutputFault;
use crate::ml::progress::{FineTuning, Phase, Progress};
use crate::ml::transfer::{LayerProbe, TransferReport};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A progress bar of `len` units labelled `what` (hidden when stderr is not a terminal).
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed_precise}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A training phase, as the CLI names it.
pub fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Extracting => "extracting",
        Phase::Training => "head",
        Phase::FineTuning => "fine-tune",
        Phase::Refitting => "all photos",
    }
}

/// Moves `pb` to `p`, and prints a line for each finished epoch.
pub fn show_progress(pb: &ProgressBar, p: &Progress) {
    pb.set_length(p.total as u64);
    pb.set_position(p.done as u64);
    pb.set_message(phase_label(p.phase));
    let Some(e) = &p.epoch else { return };
    let val = match (e.val_loss, e.val_accuracy) {
        (Some(l), Some(a)) => format!("  val loss {l:.4}  val acc {:.1}%", a * 100.0),
        _ => String::new(),
    };
    let line = format!(
        "{} epoch {:>3}  loss {:.4}  acc {:.1}%{val}",
        phase_label(p.phase),
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

/// One prediction: a text line (`path  class  probability  (all)`) or a JSON object.
pub fn prediction(path: &Path, classes: &[String], probabilities: &[f32], top: usize, json: bool) {
    if json {
        let by_class: serde_json::Map<String, serde_json::Value> = classes
            .iter()
            .zip(probabilities)
            .map(|(c, v)| (c.clone(), serde_json::json!(v)))
            .collect();
        let line = serde_json::json!({
            "file": path.display().to_string(),
            "class": classes[top],
            "probability": probabilities[top],
            "probabilities": by_class,
        });
        println!("{line}");
    } else {
        let all: Vec<String> = classes
            .iter()
            .zip(probabilities)
            .map(|(c, v)| format!("{c} {v:.4}"))
            .collect();
        println!(
            "{}\t{}\t{:.4}\t({})",
            path.display(),
            classes[top],
            probabilities[top],
            all.join(", ")
        );
    }
}

/// An evaluation report: accuracy, per class, and the confusion matrix, as text or JSON.
pub fn evaluation(classes: &[String], m: &ConfusionMatrix, json: bool) {
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
        return;
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
}

/// What became of fine-tuning, as a line of the training report (none when it was not asked).
pub fn fine_tuning(f: &FineTuning) -> Option<String> {
    match f {
        FineTuning::NotAsked => None,
        FineTuning::Kept {
            head_loss,
            tuned_loss,
        } => Some(format!(
            "fine-tuning kept: validation loss {tuned_loss:.4} (head only: {head_loss:.4})"
        )),
        FineTuning::Dropped {
            head_loss,
            tuned_loss,
        } => Some(format!(
            "fine-tuning dropped: validation loss {tuned_loss:.4}, no better than the head only ({head_loss:.4}); the saved model is the head only"
        )),
        FineTuning::Unchecked => {
            Some("fine-tuning kept without a check (no photos held out)".to_string())
        }
    }
}

/// Where `whisker report`'s validation photos came from.
#[derive(Debug, Clone)]
pub enum ValidationPhotos {
    /// An explicit `--val` folder.
    Folder(PathBuf),
    /// A stratified share of the training folder, held out as `whisker train` does.
    HeldOut {
        /// Share of each class held out, `[0, 1)`.
        share: f32,
        /// Seed of the split.
        seed: u64,
    },
}

/// The words `whisker report` prints for a head that learned nothing (text output).
pub const NO_BETTER_THAN_CHANCE: &str = "could not beat chance";

/// `whisker report`'s output: expected accuracy, pretrained against random backbone, and the
/// per-layer table, as text for people or one JSON object. `counts[c]`: class `c`'s photos in
/// the training folder; `split` indexes the photos the report was made on.
pub fn transfer(
    classes: &[String],
    counts: &[usize],
    split: &Split,
    source: &ValidationPhotos,
    report: &TransferReport,
    json: bool,
) {
    let kind = report.kind;
    let pretrained = report.pretrained();
    let expected = &pretrained.expected;
    let confused = expected
        .most_confused
        .map(|p| ([classes[p.a].as_str(), classes[p.b].as_str()], p.errors));
    if json {
        let validation = match source {
            ValidationPhotos::Folder(dir) => json!({ "folder": dir.display().to_string() }),
            ValidationPhotos::HeldOut { share, seed } => {
                json!({ "held_out_share": share, "seed": seed })
            }
        };
        let head = |p: &LayerProbe| {
            json!({
                "accuracy": p.accuracy(),
                "beats_chance": p.beats_chance(),
                "output_fault": p.outputs.as_ref().err().map(|f| fault_words(f, classes)),
            })
        };
        let mut baseline = head(&report.baseline);
        baseline["seed"] = json!(report.baseline_seed);
        baseline["expected_accuracy"] = json!(report.baseline.expected.accuracy);
        let layers: Vec<Value> = report
            .layers
            .iter()
            .map(|l| {
                json!({
                    "stage": l.stage,
                    "channels": kind.stage_channels(l.stage),
                    "resolution": kind.stage_resolution(l.stage),
                    "expected_accuracy": l.probe.expected.accuracy,
                    "validation_accuracy": l.probe.accuracy(),
                    "beats_chance": l.probe.beats_chance(),
                    "output_fault": l.probe.outputs.as_ref().err().map(|f| fault_words(f, classes)),
                })
            })
            .collect();
        let out = json!({
            "backbone": kind.id(),
            "classes": classes,
            "training_photos": split.train.len(),
            "validation_photos": split.val.len(),
            "validation": validation,
            "chance_accuracy": pretrained.chance,
            "beats_chance_above": pretrained.chance_bar(),
            "expected_accuracy": expected.accuracy,
            "k": expected.k,
            "most_confused": confused.map(|(pair, errors)| json!({ "classes": pair, "errors": errors })),
            "pretrained": head(pretrained),
            "baseline": baseline,
            "layers": layers,
        });
        println!("{out}");
        return;
    }

    let listed: Vec<String> = classes
        .iter()
        .zip(counts)
        .map(|(c, n)| format!("{c} ({n})"))
        .collect();
    println!("classes: {}", listed.join(", "));
    println!("backbone: {}", kind.name());
    let from = match source {
        ValidationPhotos::Folder(dir) => format!("from {}", dir.display()),
        ValidationPhotos::HeldOut { share, seed } => {
            format!("{:.0}% of each class held out, seed {seed}", share * 100.0)
        }
    };
    println!(
        "photos: {} training, {} validation ({from})",
        split.train.len(),
        split.val.len()
    );

    println!();
    println!(
        "expected accuracy: {:.4} (each training photo voted on by its {} most similar others)",
        expected.accuracy, expected.k
    );
    match confused {
        Some(([a, b], 1)) => println!("most confused: {a} and {b} (1 photo)"),
        Some(([a, b], errors)) => println!("most confused: {a} and {b} ({errors} photos)"),
        None => println!("most confused: none (every photo voted right)"),
    }

    println!();
    println!(
        "validation accuracy of a linear head ({} photos; chance {:.4}, beaten above {:.4}):",
        split.val.len(),
        pretrained.chance,
        pretrained.chance_bar()
    );
    println!("  pretrained backbone: {}", verdict(pretrained, classes));
    println!(
        "  random backbone:     {}",
        verdict(&report.baseline, classes)
    );
    println!(
        "  (random: seed {}, BatchNorm statistics from the training photos)",
        report.baseline_seed
    );

    println!();
    println!("by layer (pretrained backbone):");
    println!("  stage  channels  resolution  expected  validation");
    for l in &report.layers {
        let side = kind.stage_resolution(l.stage);
        println!(
            "  {:>5}  {:>8}  {:>10}  {:>8.4}  {:>10.4}{}",
            l.stage,
            kind.stage_channels(l.stage),
            format!("{side}x{side}"),
            l.probe.expected.accuracy,
            l.probe.accuracy(),
            chance_note(&l.probe, classes)
        );
    }
}

/// A head's validation accuracy, and why it does not count when it does not.
fn verdict(p: &LayerProbe, classes: &[String]) -> String {
    format!("{:.4}{}", p.accuracy(), chance_note(p, classes))
}

/// ", could not beat chance" and the output fault, if any, when a head learned nothing; else "".
fn chance_note(p: &LayerProbe, classes: &[String]) -> String {
    match (&p.outputs, p.beats_chance()) {
        (Err(fault), _) => format!(
            ", {NO_BETTER_THAN_CHANCE} ({})",
            fault_words(fault, classes)
        ),
        (Ok(()), false) => format!(", {NO_BETTER_THAN_CHANCE}"),
        (Ok(()), true) => String::new(),
    }
}

/// An output fault in the user's words: the class by its folder name, not its index.
fn fault_words(fault: &OutputFault, classes: &[String]) -> String {
    match fault {
        OutputFault::SingleClass(c) => format!("every photo is predicted as {}", classes[*c]),
        other => other.to_string(),
    }
}
