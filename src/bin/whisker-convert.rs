//! Converts torchvision's `mobilenet_v2-b0353104.pth` into the burnpack records the app loads:
//! `mobilenet_v2.f32.bpk` and `mobilenet_v2.f16.bpk` in the output folder. Each is written to a
//! temporary file and renamed, so an interrupted run never leaves a half-written record.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use std::path::PathBuf;
    use whisker::ml::weights::{self, Precision, RECORD_F16, RECORD_F32};

    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: whisker-convert <mobilenet_v2-b0353104.pth> <output folder>");
        return std::process::ExitCode::from(2);
    }
    let (pth, out) = (PathBuf::from(&args[1]), PathBuf::from(&args[2]));
    let run = || -> Result<(), String> {
        let device = burn::tensor::Device::flex();
        let model = weights::load_torchvision(&pth, &device).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        for (name, precision) in [(RECORD_F32, Precision::F32), (RECORD_F16, Precision::F16)] {
            let bytes = weights::record_bytes(&model, precision).map_err(|e| e.to_string())?;
            // Reload before publishing: a record that does not load must never land.
            weights::load_record(name, bytes.clone(), precision, &device)
                .map_err(|e| e.to_string())?;
            let final_path = out.join(name);
            let tmp = out.join(format!("{name}.tmp"));
            std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, &final_path)
                .map_err(|e| format!("{}: {e}", final_path.display()))?;
            println!("wrote {} ({} bytes)", final_path.display(), bytes.len());
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whisker-convert: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
