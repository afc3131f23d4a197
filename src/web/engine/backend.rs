//! Choosing the backend: WebGPU on a real GPU, else burn's CPU backend in wasm, and why.

use crate::ml::batch::{BatchLimits, WEBGPU_DEFAULT_BINDING_BYTES};
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
                max_binding_bytes: None,
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
    // With the setup, to read the limits the device was created with: cubecl-wgpu asks for the
    // adapter's own (SwiftShader binds 1 GiB, many GPUs 2-4 GiB), not WebGPU's 128 MiB default.
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let limits = setup.device.limits();
            // cubecl-wgpu's largest allocation (`MemoryDeviceProperties`) is the same minimum.
            let binding = limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size);
            log::info!("WebGPU binds at most {binding} bytes per buffer");
            (
                device,
                BackendInfo {
                    kind: BackendKind::WebGpu,
                    adapter: wanted,
                    cpu_reason: None,
                    max_binding_bytes: Some(binding),
                },
            )
        }
        Err(e) => {
            log::warn!("WebGPU could not start, using the CPU: {e}");
            cpu(CpuReason::InitFailed(e.to_string()), wanted)
        }
    }
}

/// What `backend`'s device allows per pass: nothing bound on the CPU; WebGPU's binding limit
/// (WebGPU's 128 MiB default, the least any device has, if it was not read).
pub fn batch_limits(backend: &BackendInfo) -> BatchLimits {
    match backend.kind {
        BackendKind::Cpu => BatchLimits::UNLIMITED,
        BackendKind::WebGpu => BatchLimits::binding(
            backend
                .max_binding_bytes
                .unwrap_or(WEBGPU_DEFAULT_BINDING_BYTES),
        ),
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
