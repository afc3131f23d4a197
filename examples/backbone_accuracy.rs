//! Accuracy of each backbone under the app's own recipe, over several seeds: for cat/dog and
//! cat/dog/other, a linear head trained on the 20 photos a class of `pets/train` (default
//! settings: 20% held out for early stopping, then refit on all 20) and evaluated on `pets/val`.
//! Prints each seed's accuracy and, per backbone and task, the mean, range and mean error count.
//!
//! Usage: `cargo run --example backbone_accuracy -- [SEEDS=5] [PETS=../shared/data/pets]`
//! (seeds 42, 43, ...; 42 is the CLI's default).

use burn::prelude::*;
use burn::tensor::TensorData;
use std::path::{Path, PathBuf};
use std::time::Instant;
use whisker::cli::images::{load_input, photos_in};
use whisker::ml::backbone::{Backbone, BackboneKind, Precision};
use whisker::ml::features::{EXTRACT_BATCH, extract};
use whisker::ml::pipeline::fit;
use whisker::ml::settings::TrainSettings;
use whisker::ml::trainer::{EVAL_BATCH, evaluate};
use whisker::ml::weights::load_record_file;

const CLASSES: [&str; 3] = ["cat", "dog", "other"];

/// Pooled features `[1280]` of every photo of `dir/<class>`, per class in [`CLASSES`] order.
fn features(backbone: &Backbone, dir: &Path, device: &Device) -> Vec<Vec<Vec<f32>>> {
    let pre = backbone.kind().preprocess();
    let last = backbone.kind().last_stage();
    CLASSES
        .iter()
        .map(|class| {
            let paths = photos_in(&dir.join(class)).unwrap();
            let mut rows = Vec::with_capacity(paths.len());
            for chunk in paths.chunks(EXTRACT_BATCH) {
                let inputs: Vec<Vec<f32>> =
                    chunk.iter().map(|p| load_input(p, &pre).unwrap()).collect();
                let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
                let out = whisker::block_on(extract(
                    backbone,
                    &refs,
                    last,
                    EXTRACT_BATCH,
                    device,
                    &mut async || {},
                ))
                .unwrap();
                rows.extend(out);
            }
            rows
        })
        .collect()
}

/// The first `classes` classes' rows as `[N, 1280, 1, 1]` with their labels.
fn stack(per_class: &[Vec<Vec<f32>>], classes: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let mut flat = Vec::new();
    let mut labels = Vec::new();
    for (label, rows) in per_class[..classes].iter().enumerate() {
        for row in rows {
            flat.extend_from_slice(row);
            labels.push(label);
        }
    }
    let n = labels.len();
    let x = Tensor::from_data(TensorData::new(flat, [n, 1280, 1, 1]), device);
    (x, labels)
}

/// Validation accuracy, errors and photos of the recipe with `seed`.
fn run(
    backbone: &Backbone,
    train: &[Vec<Vec<f32>>],
    val: &[Vec<Vec<f32>>],
    classes: usize,
    seed: u64,
    device: &Device,
) -> (f32, usize, usize) {
    let (x, labels) = stack(train, classes, device);
    let settings = TrainSettings {
        seed,
        ..TrainSettings::default()
    };
    let split = settings.split(&labels);
    let outcome = whisker::block_on(fit(
        backbone,
        x,
        &labels,
        classes,
        split,
        &settings,
        &mut async |_| true,
    ))
    .unwrap();
    let (vx, vlabels) = stack(val, classes, device);
    let all: Vec<usize> = (0..vlabels.len()).collect();
    let eval = whisker::block_on(evaluate(
        &outcome.classifier,
        &vx,
        &all,
        &vlabels,
        classes,
        EVAL_BATCH,
    ))
    .unwrap();
    let m = &eval.confusion;
    let correct: usize = (0..classes).map(|c| m.counts[c][c]).sum();
    (m.accuracy(), m.total() - correct, m.total())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = args.get(1).map_or(5, |s| s.parse().unwrap());
    let pets = args.get(2).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pets"),
        PathBuf::from,
    );
    let device = Device::flex();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("static/models");
    println!(
        "linear head, default settings, trained on {}/train (20 a class), evaluated on val; seeds {}..={}",
        pets.display(),
        42,
        42 + seeds - 1
    );
    let mut summary = Vec::new();
    for kind in BackboneKind::ALL {
        let backbone = load_record_file(
            kind,
            &models.join(kind.record_file(Precision::F32)),
            &device,
        )
        .unwrap();
        let started = Instant::now();
        let train = features(&backbone, &pets.join("train"), &device);
        let val = features(&backbone, &pets.join("val"), &device);
        let photos: usize = train.iter().chain(&val).map(Vec::len).sum();
        println!(
            "{}: features of {photos} photos in {:.1} s",
            kind.name(),
            started.elapsed().as_secs_f64()
        );
        for classes in [2, 3] {
            let task = CLASSES[..classes].join("/");
            let results: Vec<(f32, usize, usize)> = (42..42 + seeds)
                .map(|seed| run(&backbone, &train, &val, classes, seed, &device))
                .collect();
            let per_seed: Vec<String> = results.iter().map(|r| format!("{:.4}", r.0)).collect();
            println!("  {task:<14} {}", per_seed.join(" "));
            summary.push((kind, task, results));
        }
    }
    println!();
    println!(
        "| backbone | task | mean accuracy | range | mean errors (of val photos) |\n| --- | --- | --- | --- | --- |"
    );
    for (kind, task, results) in &summary {
        let n = results.len() as f32;
        let mean = results.iter().map(|r| r.0).sum::<f32>() / n;
        let min = results.iter().map(|r| r.0).fold(f32::MAX, f32::min);
        let max = results.iter().map(|r| r.0).fold(f32::MIN, f32::max);
        let errors = results.iter().map(|r| r.1 as f32).sum::<f32>() / n;
        let total = results[0].2;
        println!(
            "| {} | {task} | {mean:.4} | {min:.4}–{max:.4} | {errors:.1} (of {total}) |",
            kind.name()
        );
    }
}
