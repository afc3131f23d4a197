//! Whisker's side of the browser benchmark against onnxruntime-web (`scripts/bench-extract.mjs`):
//! a wasm module exposing only the engine's feature extraction, so the benchmark page can hand
//! Whisker and onnxruntime-web the very same preprocessed photos and time nothing but the
//! network. It loads the record the page ships with the same call as the web engine
//! ([`load_record`]) and extracts with the same function ([`extract`]) on the same release
//! profile; only the page's UI and its worker plumbing are left out.
//!
//! Built for wasm32 only (`scripts/build-bench-wasm.sh`); natively this example is empty.
//!
//! JavaScript API (after `await init()`):
//! - `await load(recordBytes: Uint8Array, recordName: string, backend: "cpu" | "webgpu",
//!   foldNorm: boolean)` -> a description of the device in use. `foldNorm` false runs the
//!   batch-norm form instead of the folded one the engine uses, for before/after figures;
//! - `await extract(inputs: Float32Array, batch: number)` -> `Float32Array` of `[N, 1280]`
//!   pooled features, for `inputs` of `N` preprocessed photos `[N, 3, 224, 224]`, run through
//!   the backbone `batch` photos at a time (as the engine's micro-batches).

#[cfg(target_arch = "wasm32")]
mod bench {
    use burn::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use whisker::ml::backbone::{Backbone, BackboneKind, Precision};
    use whisker::ml::features::extract as extract_features;
    use whisker::ml::weights::{load_record, precision_of};

    /// Values in one preprocessed photo, `[3, 224, 224]`.
    const PER_PHOTO: usize = 3 * 224 * 224;

    struct Net {
        device: Device,
        backbone: Backbone,
    }

    thread_local! {
        static NET: RefCell<Option<Rc<Net>>> = const { RefCell::new(None) };
    }

    unsafe extern "C" {
        /// Synthesised by wasm-ld: runs the static constructors (see `src/main.rs`).
        fn __wasm_call_ctors();
    }

    /// Runs the static constructors once, so wasm-ld does not re-run them before every export.
    #[wasm_bindgen(start)]
    fn start() {
        unsafe { __wasm_call_ctors() };
        console_error_panic_hook::set_once();
    }

    /// Builds the backbone from a record's bytes on the CPU (`"cpu"`) or WebGPU (`"webgpu"`),
    /// with batch normalisation folded into the convolutions (as the engine runs it) or not.
    #[wasm_bindgen]
    pub async fn load(
        record: Vec<u8>,
        name: String,
        backend: String,
        fold_norm: bool,
    ) -> Result<String, JsError> {
        let (device, label) = match backend.as_str() {
            "cpu" => (Device::flex(), "burn-flex (CPU, wasm)".to_string()),
            "webgpu" => {
                let device = Device::wgpu_options()
                    .init_async()
                    .await
                    .map_err(|e| JsError::new(&format!("WebGPU: {e:?}")))?;
                (device, "burn-wgpu (WebGPU)".to_string())
            }
            other => return Err(JsError::new(&format!("unknown backend {other}"))),
        };
        // The record's file name says which backbone it is.
        let kind = BackboneKind::ALL
            .into_iter()
            .find(|k| {
                [Precision::F32, Precision::F16, Precision::I8]
                    .map(|p| k.record_file(p))
                    .contains(&name.as_str())
            })
            .ok_or_else(|| JsError::new(&format!("{name} is no backbone record")))?;
        let backbone = load_record(kind, &name, record, precision_of(&name), &device)
            .map_err(|e| JsError::new(&e.to_string()))?;
        // `load_record` folds; dropping the folded convolutions gives the batch-norm form back.
        let backbone = if fold_norm {
            backbone
        } else {
            backbone.freeze_norm_stats()
        };
        NET.with(|n| *n.borrow_mut() = Some(Rc::new(Net { device, backbone })));
        Ok(label)
    }

    /// Pooled features `[N, 1280]` of `N` preprocessed photos, `batch` photos per backbone pass.
    #[wasm_bindgen]
    pub async fn extract(inputs: Vec<f32>, batch: usize) -> Result<Vec<f32>, JsError> {
        let net = NET
            .with(|n| n.borrow().clone())
            .ok_or_else(|| JsError::new("call load() first"))?;
        if inputs.is_empty() || !inputs.len().is_multiple_of(PER_PHOTO) {
            return Err(JsError::new("inputs must be N x 3 x 224 x 224 values"));
        }
        let photos: Vec<&[f32]> = inputs.chunks(PER_PHOTO).collect();
        let rows = extract_features(
            &net.backbone,
            &photos,
            net.backbone.kind().last_stage(),
            batch,
            &net.device,
            &mut async || {},
        )
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(rows.concat())
    }
}
