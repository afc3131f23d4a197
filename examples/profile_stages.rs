//! Milliseconds per photo of each MobileNetV2 stage on burn's CPU device, frozen (folded, the
//! form extraction runs) or with batch normalisation unfolded: where the backbone's time goes.
//! Usage: `profile_stages [BATCH=1] [fold|bn] [REPS=5] [BACKBONE=mobilenet-v2]`;
//! `RAYON_NUM_THREADS=1` for one core, as in the browser. Inputs are random: the time does not
//! depend on them.

use burn::prelude::*;
use std::time::Instant;
use whisker::ml::backbone::{BackboneKind, Precision};
use whisker::ml::weights::load_record_file;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch: usize = args.get(1).map_or(1, |s| s.parse().expect("BATCH"));
    let folded = args.get(2).is_none_or(|s| s != "bn");
    let reps: usize = args.get(3).map_or(5, |s| s.parse().expect("REPS"));
    let kind: BackboneKind = args.get(4).map_or(BackboneKind::default(), |s| {
        s.parse()
            .expect("BACKBONE: mobilenet-v2 or efficientnet-lite0")
    });
    let device = Device::flex();
    let record = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(kind.record_file(Precision::F32));
    let net = load_record_file(kind, &record, &device).expect("run scripts/setup-weights.sh");
    // `freeze_norm_stats` drops the folded convolutions: the batch-norm form.
    let net = if folded { net } else { net.freeze_norm_stats() };
    let input = Tensor::<4>::random(
        [batch, 3, 224, 224],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let mut ms = vec![f64::INFINITY; kind.stages()];
    // The first pass warms the allocator up; each stage keeps its fastest pass.
    for _ in 0..=reps {
        let mut x = input.clone();
        for (stage, best) in ms.iter_mut().enumerate() {
            let t = Instant::now();
            x = net.forward_stages(x, stage, stage);
            // burn's CPU backend computes eagerly: the stage is done when forward returns.
            *best = best.min(t.elapsed().as_secs_f64() * 1000.0 / batch as f64);
        }
    }
    let total: f64 = ms.iter().sum();
    for (stage, t) in ms.iter().enumerate() {
        let side = kind.stage_resolution(stage);
        println!(
            "stage {stage:>2} [{:>4}, {side:>3}, {side:>3}] {t:7.2} ms {:5.1}%",
            kind.stage_channels(stage),
            t / total * 100.0
        );
    }
    let form = if folded { "folded" } else { "batch norm" };
    println!(
        "{kind}: total {total:.2} ms a photo (batch {batch}, {form}, stages 0..={})",
        kind.last_stage()
    );
}
