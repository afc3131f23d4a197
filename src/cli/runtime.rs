//! What every command needs before it can run the network: the device, the backbone record, and
//! a [`Session`] over it (for `predict` and `eval`, with the model file opened in it).

use super::args::{BackendArg, RunArgs};
use super::error::CliError;
use crate::ml::MlError;
use crate::ml::features::EXTRACT_BATCH;
use crate::ml::model_file::{self, ModelMeta};
use crate::ml::session::{BackboneSource, Session};
use crate::ml::weights::{self, BACKBONE_ID, RECORD_F32};
use burn::prelude::*;
use std::path::{Path, PathBuf};

/// The device of `backend`.
pub fn device(backend: BackendArg) -> Result<Device, CliError> {
    match backend {
        BackendArg::Cpu => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        BackendArg::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        BackendArg::Wgpu => Err(CliError::Backend(
            "this whisker was built without the wgpu backend: rebuild with `cargo build --features wgpu`"
                .into(),
        )),
    }
}

/// The backbone record: `--weights`, else `static/models/` of the working directory, else of
/// this checkout.
fn record_path(weights: &Option<PathBuf>) -> PathBuf {
    if let Some(w) = weights {
        return w.clone();
    }
    let local = Path::new("static/models").join(RECORD_F32);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(RECORD_F32)
}

/// A session over the pretrained backbone, or over a random one seeded `random_seed`.
pub fn session(run: &RunArgs, random_seed: Option<u64>) -> Result<Session, CliError> {
    let device = device(run.backend)?;
    let (backbone, source) = match random_seed {
        Some(seed) => (
            weights::random_backbone(seed, &device),
            BackboneSource::Random { seed },
        ),
        None => {
            let path = record_path(&run.weights);
            if !path.is_file() {
                return Err(CliError::MissingWeights { path });
            }
            (
                weights::load_record_file(&path, &device)?,
                BackboneSource::Pretrained,
            )
        }
    };
    Ok(Session::new(backbone, source, device, EXTRACT_BATCH))
}

/// A session with the model file at `path` opened in it, and the file's metadata.
pub fn open_model(path: &Path, run: &RunArgs) -> Result<(Session, ModelMeta), CliError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let meta = model_file::read_meta(&name, &bytes)?;
    if meta.random_backbone_seed.is_none() && meta.backbone != BACKBONE_ID {
        return Err(MlError::model_file(
            &name,
            format!(
                "needs backbone {}, this Whisker has {BACKBONE_ID}",
                meta.backbone
            ),
        )
        .into());
    }
    let session = session(run, meta.random_backbone_seed)?;
    let meta = session.import_model(&name, &bytes)?;
    Ok((session, meta))
}
