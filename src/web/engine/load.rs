//! Building the engine's sessions: the backend (started once), the weights the page hands over,
//! the network, and a warm-up pass so its kernels are compiled before the user waits on them.

use super::backend::{batch_limits, extract_batch};
use crate::ml::backbone::{BackboneKind, Precision};
use crate::ml::session::{BackboneSource, Session};
use crate::ml::weights::load_record;
use crate::web::glue::js::now_ms;
use crate::web::glue::yield_now::{yield_now, yield_task};
use crate::web::protocol::{BackendInfo, LoadError, LoadStep};
use burn::prelude::*;
use std::rc::Rc;

/// Waits for the `kind` backbone's record (the browser's, [`Precision::BROWSER`]), builds the network on `device` and warms it up,
/// reporting each step to `on_step`.
pub async fn build_session(
    kind: BackboneKind,
    device: Device,
    backend: &BackendInfo,
    weights: impl Future<Output = Vec<u8>>,
    mut on_step: impl FnMut(LoadStep),
) -> Result<Session, LoadError> {
    let bytes = weights.await;
    on_step(LoadStep::Building);
    yield_now().await;
    let name = kind.record_file(Precision::BROWSER);
    let backbone =
        load_record(kind, name, bytes, Precision::BROWSER, &device).map_err(LoadError::Weights)?;
    let session = Session::new(
        backbone,
        BackboneSource::Pretrained,
        device,
        extract_batch(backend),
    )
    // Every batch within what the device binds, and a warm-up at the batch sizes used.
    .with_batch_limits(batch_limits(backend))
    // Between backbone stages: lets a Stop or a new request in (see `yield_task`).
    .with_pause(Rc::new(|| Box::pin(yield_task())));

    on_step(LoadStep::WarmingUp);
    let started = now_ms();
    session.warm_up().await.map_err(LoadError::Warmup)?;
    log::info!("{kind} warm-up: {:.2} s", (now_ms() - started) / 1000.0);
    Ok(session)
}
