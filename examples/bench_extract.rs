//! Feature-extraction throughput of each backbone on each native burn backend, on real photos.
//! Run through `scripts/bench-native.sh`, which also runs PyTorch on the same inputs and prints
//! the ratios.
//! Usage: `bench_extract <PHOTO_DIR> <COUNT> <BATCH> <INPUTS_OUT.safetensors> [BACKBONE...]`
//! (backbones by id, default all). The preprocessed inputs of each backbone are written to
//! `INPUTS_OUT` as `inputs.<id>`, `[COUNT, 3, 224, 224]` f32, so PyTorch sees the same values.
//!
//! Besides wall-clock time it prints the process's CPU time per image (Linux): on a machine
//! shared with other builds, wall-clock time mostly measures the others, CPU time much less so.

use burn::prelude::*;
use burn::tensor::TensorData;
use std::time::Instant;
use whisker::cli::images::load_input;
use whisker::ml::backbone::{BackboneKind, Precision};
use whisker::ml::weights::load_record_file;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let count: usize = args[2].parse().unwrap();
    let batch: usize = args[3].parse().unwrap();
    let out = &args[4];
    let kinds: Vec<BackboneKind> = if args.len() > 5 {
        args[5..].iter().map(|a| a.parse().unwrap()).collect()
    } else {
        BackboneKind::ALL.to_vec()
    };

    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.truncate(count);
    let n = paths.len();
    let per_image = 3 * 224 * 224;
    let inputs: Vec<Vec<f32>> = kinds
        .iter()
        .map(|kind| {
            let pre = kind.preprocess();
            paths
                .iter()
                .flat_map(|p| load_input(p, &pre).unwrap())
                .collect()
        })
        .collect();

    // Hand PyTorch exactly these inputs.
    let bytes: Vec<Vec<u8>> = inputs
        .iter()
        .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = kinds.iter().zip(&bytes).map(|(kind, b)| {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![n, 3, 224, 224], b)
                .unwrap();
        (format!("inputs.{}", kind.id()), view)
    });
    std::fs::write(out, safetensors::serialize(views, None).unwrap()).unwrap();

    let backends: Vec<(&str, Device)> = vec![
        ("burn-flex (CPU)", Device::flex()),
        #[cfg(feature = "wgpu")]
        (
            "burn-wgpu",
            Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        ),
    ];
    for (name, device) in backends {
        for (kind, inputs) in kinds.iter().zip(&inputs) {
            let record = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("static/models")
                .join(kind.record_file(Precision::F32));
            let net = load_record_file(*kind, &record, &device).unwrap();
            let run = || {
                for chunk in inputs.chunks(batch * per_image) {
                    let b = chunk.len() / per_image;
                    let x = Tensor::<4>::from_data(
                        TensorData::new(chunk.to_vec(), [b, 3, 224, 224]),
                        &device,
                    );
                    let _ = net.features(x).into_data();
                }
            };
            // One warm-up pass (kernel compilation, allocator), then the timed pass.
            run();
            let (t, cpu) = (Instant::now(), cpu_seconds());
            run();
            let secs = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            println!(
                "{:<18} {name:<22} batch {batch:>3}: {:>7.2} img/s ({:.1} ms/img, {:.1} CPU-ms/img, {n} photos in {secs:.2} s)",
                kind.id(),
                n as f64 / secs,
                secs * 1000.0 / n as f64,
                cpu * 1000.0 / n as f64,
            );
        }
    }
}

/// User + system CPU time of this process so far, in seconds (`/proc/self/stat`, Linux; NaN
/// elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap_or(f64::NAN)
        + fields[12].parse::<f64>().unwrap_or(f64::NAN);
    // USER_HZ is 100 on every Linux this runs on.
    ticks / 100.0
}
