//! Choosing the backend: WebGPU on a real GPU, else burn's CPU backend in wasm, and why.

use crate::web::glue::gpu::{GpuProbe, probe};
use crate::web::protocol::{AdapterInfo, BackendInfo, BackendKind, BackendRequest, CpuReason};
use burn::prelude::*;

/// Starts the backend `request` asks for, falling back to the CPU when WebGPU is missing, only
/// software, or fails to start.
pub async fn start_backend(request: BackendRequest) -> (Device, BackendInfo) {
    let found = probe().await;
    let adapter = match &found {
        GpuProbe::Adapter(a) => Some(a.clone()),
        _ => None,
    };
    let cpu = |reason: CpuReason, adapter: Option<AdapterInfo>| {
        (
            Device::flex(),
            BackendInfo {
                kind: BackendKind::Cpu,
                adapter,
                cpu_reason: Some(reason),
            },
        )
    };
    let wanted = match (request, &found) {
        (BackendRequest::Cpu, _) => return cpu(CpuReason::Asked, adapter),
        (_, GpuProbe::NoApi) => return cpu(CpuReason::NoWebGpu, None),
        (_, GpuProbe::NoAdapter) => return cpu(CpuReason::NoAdapter, None),
        (BackendRequest::Auto, GpuProbe::Adapter(a)) if a.is_fallback => {
            return cpu(CpuReason::SoftwareAdapter(a.name.clone()), adapter);
        }
        _ => adapter,
    };
    match Device::wgpu_options().init_async().await {
        Ok(device) => (
            device,
            BackendInfo {
                kind: BackendKind::WebGpu,
                adapter: wanted,
                cpu_reason: None,
            },
        ),
        Err(e) => {
            log::warn!("WebGPU could not start, using the CPU: {e}");
            cpu(CpuReason::InitFailed(e.to_string()), wanted)
        }
    }
}

/// Photos per backbone pass on `backend`. Batch 1 on the CPU and on software adapters keeps each
/// step short, Stop prompt and the progress fine-grained; a real GPU wants bigger batches.
pub fn extract_batch(backend: &BackendInfo) -> usize {
    match (&backend.kind, &backend.adapter) {
        (BackendKind::WebGpu, Some(a)) if !a.is_fallback => 8,
        _ => 1,
    }
}
