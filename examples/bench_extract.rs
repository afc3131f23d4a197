//! Feature-extraction throughput of each native burn backend on real photos.
//! Run through `scripts/bench-native.sh`, which also runs PyTorch on the same inputs and prints
//! the ratio. Usage: `bench_extract <PHOTO_DIR> <COUNT> <BATCH> <INPUTS_OUT.safetensors>`.

use burn::prelude::*;
use burn::tensor::TensorData;
use std::time::Instant;
use whisker::cli::images::load_input;
use whisker::core::preprocess::Preprocess;
use whisker::ml::weights::{RECORD_F32, load_record_file};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let count: usize = args[2].parse().unwrap();
    let batch: usize = args[3].parse().unwrap();
    let out = &args[4];

    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.truncate(count);
    let pre = Preprocess::default();
    let mut inputs = Vec::with_capacity(paths.len() * pre.len());
    for p in &paths {
        inputs.extend(load_input(p, &pre).unwrap());
    }
    let n = paths.len();
    // Hand PyTorch exactly these inputs.
    let bytes: Vec<u8> = inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![n, 3, 224, 224], &bytes)
            .unwrap();
    std::fs::write(
        out,
        safetensors::serialize([("inputs", view)], None).unwrap(),
    )
    .unwrap();

    let record = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(RECORD_F32);
    let backends: Vec<(&str, Device)> = vec![
        ("burn-flex (CPU)", Device::flex()),
        #[cfg(feature = "wgpu")]
        (
            "burn-wgpu",
            Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        ),
    ];
    for (name, device) in backends {
        let net = load_record_file(&record, &device).unwrap();
        let run = || {
            for chunk in inputs.chunks(batch * pre.len()) {
                let b = chunk.len() / pre.len();
                let x = Tensor::<4>::from_data(
                    TensorData::new(chunk.to_vec(), [b, 3, 224, 224]),
                    &device,
                );
                let _ = net.features(x).into_data();
            }
        };
        // One warm-up pass (kernel compilation, allocator), then the timed pass.
        run();
        let t = Instant::now();
        run();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name:<18} batch {batch:>3}: {:>7.2} img/s ({n} photos in {secs:.2} s)",
            n as f64 / secs
        );
    }
}
