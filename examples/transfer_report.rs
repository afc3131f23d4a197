//! How much does transfer help, and from which layer? Prints, for cat/dog and cat/dog/other:
//! expected accuracy (leave-one-out k-NN on the training photos' features) and the validation
//! accuracy of a linear head trained like `whisker train --val` does, per cut point, for the
//! pretrained backbone, the old random baseline (random weights, identity BatchNorm) and the
//! calibrated one (random weights, BatchNorm statistics of the training photos), over several
//! seeds. `whisker report` gives the same figures for one seed and one task.
//!
//! Usage: `cargo run --example transfer_report [DATA_DIR] [SEEDS] [PER_CLASS]`, defaults
//! `../shared/data/pets`, `1,2,3`, `20` (training photos a class from `train/`; every photo of
//! `val/` is evaluated). About 5 CPU-minutes (11 minutes on 2 busy shared cores).

use std::collections::BTreeMap;
use std::path::Path;
use whisker::cli::images::{load_input, photos_in};
use whisker::core::dataset::Split;
use whisker::core::knn::classify;
use whisker::core::output_check::chance_accuracy;
use whisker::core::preprocess::Preprocess;
use whisker::ml::backbone::{Backbone, BackboneKind, Precision};
use whisker::ml::baseline::calibrated_random_backbone;
use whisker::ml::layers::extract_pooled;
use whisker::ml::settings::TrainSettings;
use whisker::ml::transfer::probe_layer;
use whisker::ml::weights::{load_record_file, random_backbone};

use burn::prelude::*;

/// Cut points measured (torchvision stage numbers).
const CUTS: [usize; 8] = [4, 7, 10, 13, 14, 16, 17, 18];
const CLASSES: [&str; 3] = ["cat", "dog", "other"];
const BATCH: usize = 16;

/// Photos of one class subset: preprocessed inputs and labels, training then validation.
struct Photos {
    inputs: Vec<Vec<f32>>,
    labels: Vec<usize>,
    train: usize,
}

/// One measured configuration: (task, backbone, cut) -> per-seed results.
#[derive(Default)]
struct Row {
    expected: Vec<f32>,
    knn_val: Vec<f32>,
    val: Vec<f32>,
    faults: Vec<String>,
    mean_similarity: Vec<f32>,
}

/// The backbone measured (the layer study was made on MobileNetV2).
const KIND: BackboneKind = BackboneKind::MobileNetV2;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = Path::new(args.get(1).map_or("../shared/data/pets", String::as_str)).to_path_buf();
    let seeds: Vec<u64> = args
        .get(2)
        .map_or("1,2,3", String::as_str)
        .split(',')
        .map(|s| s.parse().expect("seeds like 1,2,3"))
        .collect();
    let per_class: usize = args.get(3).map_or(20, |s| s.parse().expect("a number"));
    let device = Device::flex();
    let pre = KIND.preprocess();

    let all = read(&data, &CLASSES, per_class, &pre);
    println!(
        "{} training photos ({per_class} a class), {} validation photos",
        all.train,
        all.labels.len() - all.train
    );
    let record = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(KIND.record_file(Precision::F32));
    let pretrained =
        load_record_file(KIND, &record, &device).expect("run scripts/setup-weights.sh");

    let tasks: [(&str, usize); 2] = [("cat/dog", 2), ("cat/dog/other", 3)];
    let mut rows: BTreeMap<(usize, usize, usize), Row> = BTreeMap::new();

    // Pretrained and old random features do not depend on the task: extract all photos once.
    let all_refs: Vec<&[f32]> = all.inputs.iter().map(Vec::as_slice).collect();
    let pooled_pretrained = pooled(&pretrained, &all_refs, &device);
    for &seed in &seeds {
        let old = pooled(&random_backbone(KIND, seed, &device), &all_refs, &device);
        for (t, &(_, classes)) in tasks.iter().enumerate() {
            let keep = task_photos(&all, classes);
            for (b, features) in [(0, &pooled_pretrained), (1, &old)] {
                for (c, &cut) in CUTS.iter().enumerate() {
                    // The old baseline is only ever used at the last stage.
                    if b == 1 && cut != CUTS[CUTS.len() - 1] {
                        continue;
                    }
                    let subset = select(&features[c], &keep);
                    measure(
                        rows.entry((t, b, cut)).or_default(),
                        &subset,
                        &all,
                        &keep,
                        classes,
                        seed,
                        &device,
                    );
                }
            }
            // No network at all: a 7x7 colour thumbnail of each photo, as a floor.
            let thumbs: Vec<Vec<f32>> = keep.iter().map(|&i| thumbnail(&all.inputs[i])).collect();
            measure(
                rows.entry((t, 3, 0)).or_default(),
                &thumbs,
                &all,
                &keep,
                classes,
                seed,
                &device,
            );
            // The calibrated baseline learns its statistics from this task's training photos.
            let task_inputs: Vec<&[f32]> = keep.iter().map(|&i| all_refs[i]).collect();
            let n_train = keep.iter().filter(|&&i| i < all.train).count();
            let started = std::time::Instant::now();
            let net = block(calibrated_random_backbone(
                KIND,
                seed,
                &task_inputs[..n_train],
                BATCH,
                &device,
                &mut async || {},
            ))
            .expect("calibration");
            eprintln!(
                "calibrating on {n_train} photos took {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let features = pooled(&net, &task_inputs, &device);
            for (c, &cut) in CUTS.iter().enumerate() {
                let identity: Vec<usize> = (0..keep.len()).collect();
                let subset = select(&features[c], &identity);
                measure(
                    rows.entry((t, 2, cut)).or_default(),
                    &subset,
                    &all,
                    &keep,
                    classes,
                    seed,
                    &device,
                );
            }
        }
        eprintln!("seed {seed} done");
    }

    let names = [
        "pretrained",
        "random, identity BatchNorm (old)",
        "random, BatchNorm from photos",
        "no network: 7x7 thumbnail",
    ];
    let seed_list: Vec<String> = seeds.iter().map(u64::to_string).collect();
    println!(
        "\nplain cos sim = mean cosine similarity of two training photos' features, uncentred; \
         expected = leave-one-out k-NN (cosine, centred) on the training photos; k-NN on val = the same \
         neighbours classifying val/; head val = linear head trained like `whisker train --val` \
         (default settings, val/ picks the epoch, as `whisker report --val`), accuracy on val/; \
         means over seeds {}",
        seed_list.join(", ")
    );
    for (t, &(task, classes)) in tasks.iter().enumerate() {
        let keep = task_photos(&all, classes);
        let val_labels: Vec<usize> = keep
            .iter()
            .filter(|&&i| i >= all.train)
            .map(|&i| all.labels[i])
            .collect();
        println!(
            "\n{task}: {} training, {} validation photos, chance {:.4}",
            keep.len() - val_labels.len(),
            val_labels.len(),
            chance_accuracy(&val_labels, classes)
        );
        println!(
            "| backbone | cut | dims | plain cos sim | expected (k-NN LOO) | k-NN on val | head val per seed | head val mean | outputs |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (b, name) in names.iter().enumerate() {
            for &cut in [0].iter().chain(&CUTS) {
                let Some(r) = rows.get(&(t, b, cut)) else {
                    continue;
                };
                let dims = if b == 3 {
                    147
                } else {
                    KIND.stage_channels(cut)
                };
                let vals: Vec<String> = r.val.iter().map(|v| format!("{v:.4}")).collect();
                let faults = if r.faults.is_empty() {
                    "finite, varied".to_string()
                } else {
                    r.faults.join("; ")
                };
                println!(
                    "| {name} | {} | {dims} | {:.3} | {:.4} | {:.4} | {} | {:.4} | {faults} |",
                    if b == 3 {
                        "-".to_string()
                    } else {
                        cut.to_string()
                    },
                    mean(&r.mean_similarity),
                    mean(&r.expected),
                    mean(&r.knn_val),
                    vals.join(" "),
                    mean(&r.val),
                );
            }
        }
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    whisker::block_on(f)
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

/// `per_class` training photos of each class, then every validation photo.
fn read(data: &Path, classes: &[&str], per_class: usize, pre: &Preprocess) -> Photos {
    let mut out = Photos {
        inputs: Vec::new(),
        labels: Vec::new(),
        train: 0,
    };
    for (split, limit) in [("train", per_class), ("val", usize::MAX)] {
        for (label, class) in classes.iter().enumerate() {
            let dir = data.join(split).join(class);
            for path in photos_in(&dir)
                .expect("photo folder")
                .into_iter()
                .take(limit)
            {
                out.inputs.push(load_input(&path, pre).expect("photo"));
                out.labels.push(label);
            }
        }
        if split == "train" {
            out.train = out.labels.len();
        }
    }
    out
}

/// Indices (into `all`) of the photos of the first `classes` classes, training ones first.
fn task_photos(all: &Photos, classes: usize) -> Vec<usize> {
    (0..all.labels.len())
        .filter(|&i| all.labels[i] < classes)
        .collect()
}

/// Mean of each channel over 32x32 blocks of a preprocessed `[3, 224, 224]` photo: `[3, 7, 7]`.
fn thumbnail(input: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; 3 * 7 * 7];
    for c in 0..3 {
        for y in 0..224 {
            for x in 0..224 {
                out[c * 49 + (y / 32) * 7 + x / 32] += input[c * 224 * 224 + y * 224 + x] / 1024.0;
            }
        }
    }
    out
}

fn select(rows: &[Vec<f32>], keep: &[usize]) -> Vec<Vec<f32>> {
    keep.iter().map(|&i| rows[i].clone()).collect()
}

/// Pooled features of every cut in [`CUTS`]: `[cut][photo][channel]`.
fn pooled(net: &Backbone, inputs: &[&[f32]], device: &Device) -> Vec<Vec<Vec<f32>>> {
    block(extract_pooled(
        net,
        inputs,
        &CUTS,
        BATCH,
        device,
        &mut async || {},
    ))
    .expect("extraction")
}

/// Expected accuracy on the training photos and validation accuracy of a head, for one seed
/// (the figures of `whisker report`, [`probe_layer`]), plus the plain similarity and k-NN on the
/// validation photos. `features[j]` belongs to photo `keep[j]` of `all`.
fn measure(
    row: &mut Row,
    features: &[Vec<f32>],
    all: &Photos,
    keep: &[usize],
    classes: usize,
    seed: u64,
    device: &Device,
) {
    let split = Split {
        train: (0..keep.len()).filter(|&j| keep[j] < all.train).collect(),
        val: (0..keep.len()).filter(|&j| keep[j] >= all.train).collect(),
    };
    let labels: Vec<usize> = keep.iter().map(|&i| all.labels[i]).collect();
    // As `whisker train --val` and `whisker report --val`: val/ picks the epoch, no refit.
    let settings = TrainSettings {
        seed,
        refit: false,
        ..TrainSettings::default()
    };
    let probe = block(probe_layer(
        features, &labels, classes, &split, &settings, device,
    ))
    .expect("measure");
    row.expected.push(probe.expected.accuracy);
    row.val.push(probe.accuracy());
    if let Err(fault) = &probe.outputs {
        row.faults.push(format!("seed {seed}: {fault}"));
    }

    // Plain (uncentred) cosine similarity, averaged over pairs: near 1 when every photo's
    // features point the same way.
    let (g, n) = (probe.index.gram(), probe.index.len());
    let mut plain = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                plain += g[i][j] as f64 / ((g[i][i] as f64) * (g[j][j] as f64)).sqrt().max(1e-30);
            }
        }
    }
    row.mean_similarity
        .push((plain / (n * (n - 1)) as f64) as f32);
    // The same neighbours as a classifier of the validation photos.
    let train_labels: Vec<usize> = split.train.iter().map(|&j| labels[j]).collect();
    let right = split
        .val
        .iter()
        .filter(|&&j| {
            let sims = probe
                .index
                .similarities_to(&features[j])
                .expect("same width");
            classify(&sims, &train_labels, probe.expected.k, classes) == labels[j]
        })
        .count();
    row.knn_val.push(right as f32 / split.val.len() as f32);
}
