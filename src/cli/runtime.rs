//! What every command needs before it can run the network: the device, the backbone record, and
//! (except for `report`, which measures bare backbones) a [`Session`] over it (for `predict` and
//! `eval`, with the model file opened in it).

use super::args::{BackendArg, RunArgs};
use super::error::CliError;
use crate::ml::backbone::{Backbone, BackboneKind, Precision};
use crate::ml::features::EXTRACT_BATCH;
use crate::ml::model_file::{self, ModelMeta};
use crate::ml::session::{BackboneSource, Session};
use crate::ml::weights;
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

/// The `kind` backbone's record: `--weights`, else `static/models/` of the working directory,
/// else of this checkout.
fn record_path(kind: BackboneKind, weights: &Option<PathBuf>) -> PathBuf {
    if let Some(w) = weights {
        return w.clone();
    }
    let name = kind.record_file(Precision::F32);
    let local = Path::new("static/models").join(name);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static/models")
        .join(name)
}

/// A session over the pretrained `kind` backbone, or over a random one seeded `random_seed`.
pub fn session(
    run: &RunArgs,
    kind: BackboneKind,
    random_seed: Option<u64>,
) -> Result<Session, CliError> {
    let device = device(run.backend)?;
    let (backbone, source) = match random_seed {
        Some(seed) => (
            weights::random_backbone(kind, seed, &device),
            BackboneSource::Random { seed },
        ),
        None => (
            pretrained_backbone(run, kind, &device)?,
            BackboneSource::Pretrained,
        ),
    };
    Ok(Session::new(backbone, source, device, EXTRACT_BATCH))
}

/// The pretrained `kind` backbone on `device`, from `run`'s record (see [`record_path`]).
pub fn pretrained_backbone(
    run: &RunArgs,
    kind: BackboneKind,
    device: &Device,
) -> Result<Backbone, CliError> {
    let path = record_path(kind, &run.weights);
    if !path.is_file() {
        return Err(CliError::MissingWeights { path });
    }
    Ok(weights::load_record_file(kind, &path, device)?)
}

/// A session with the model file at `path` opened in it, and the file's metadata.
pub fn open_model(path: &Path, run: &RunArgs) -> Result<(Session, ModelMeta), CliError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let meta = model_file::read_meta(&name, &bytes)?;
    // read_meta refuses a backbone this build does not have.
    let kind = meta.backbone_kind().unwrap_or_default();
    let session = session(run, kind, meta.random_backbone_seed)?;
    let meta = session.import_model(&name, &bytes)?;
    Ok((session, meta))
}
