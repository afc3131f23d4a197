//! What the CLI prints: progress bars, training lines, predictions and evaluation reports.

use crate::core::metrics::ConfusionMatrix;
use crate::ml::pipeline::{FineTuning, Phase, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

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
