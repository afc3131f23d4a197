//! The browser's backbone record ([`Precision::I8`](super::backbone::Precision::I8)): the 1x1
//! convolutions' weights (97% of them) stored as int8 with one f32 scale per output channel,
//! the small depthwise and stem filters f16, BatchNorm and biases f32, and no ImageNet
//! classifier, which transfer learning never uses.
//!
//! MobileNetV2's record is 2.61 MB like this against 7.25 MB as f16 with its classifier
//! (EfficientNet-Lite0: 3.94 against 9.60). Scales per output channel, not per tensor, because
//! the filters' ranges differ widely from channel to channel in MobileNet-style networks
//! (Krishnamoorthi, "Quantizing deep convolutional networks for efficient inference", 2018,
//! on per-channel weight quantization); each channel's clipping level is the one with the least
//! squared error. The activations stay f32: the backbone is dequantized once, at load. Measured
//! against PyTorch (`tests/torchvision_reference.rs`): MobileNetV2's pooled features keep a
//! cosine of 0.9986 and the logits move by at most 0.50 (f16: 0.045), the top class never; the
//! pets accuracy is f32's (`tests/pets_accuracy.rs`).
//!
//! Layout (a burnpack file, read with `burn_pack` directly): a 1x1 convolution's weight `name`
//! as `I8 [out, in, 1, 1]` and its scales as `name` + [`SCALE_SUFFIX`] `F32 [out]`; depthwise
//! and stem filters `F16`; the other tensors `F32`, under their own names.

use super::backbone::Backbone;
use super::error::MlError;
use burn::store::{ModuleSnapshot, bridge};
use burn::tensor::{Bytes, DType, TensorData};
use burn_pack::{Reader, Tensor as PackTensor, Writer};
use std::collections::BTreeMap;

/// Name suffix of a quantized weight's per-output-channel scales.
pub const SCALE_SUFFIX: &str = ":scale";

/// Largest magnitude of a quantized value: symmetric, so -127..=127 (-128 unused, which keeps
/// zero exact and the range the same on both sides).
const Q_MAX: f32 = 127.0;

/// How a tensor of the network is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// int8 per output channel: the 1x1 convolutions, 97% of the weights.
    Int8,
    /// f16: the depthwise filters and the stem (3 input channels), 65 k weights in MobileNetV2
    /// whose 9 or 27 values per channel quantize worst (int8 there moved block 13's output to a
    /// cosine of 0.990 against PyTorch; f16 costs 64 kB more).
    F16,
    /// f32: BatchNorm's vectors and biases, a few kB.
    F32,
}

fn storage(name: &str, shape: &[usize]) -> Storage {
    match shape {
        [_, 1 | 3, _, _] if name.ends_with(".weight") => Storage::F16,
        [_, _, _, _] if name.ends_with(".weight") => Storage::Int8,
        _ => Storage::F32,
    }
}

/// The ImageNet classifier's tensors, left out of the record.
fn is_top(name: &str) -> bool {
    name.starts_with("classifier.")
}

/// Symmetric per-row quantization of `values` laid out as `rows` equal rows (the output
/// channels): `(q, scales)` with `values[i] ≈ q[i] * scales[row(i)]`, `|q| <= 127`. Each row's
/// scale is the one of [`CLIP_STEPS`] clipping levels (fractions of its largest magnitude) with
/// the least squared error: one outlier weight no longer coarsens the whole channel. An
/// all-zero row gets scale 0 and stays zero.
pub fn quantize_rows(values: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
    let per_row = values.len() / rows;
    let mut q = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(rows);
    for row in values.chunks(per_row) {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let round = |v: f32, scale: f32| (v / scale).round().clamp(-Q_MAX, Q_MAX);
        let error = |scale: f32| -> f32 {
            row.iter()
                .map(|&v| (v - round(v, scale) * scale).powi(2))
                .sum()
        };
        let scale = (0..CLIP_STEPS)
            .map(|i| max * (1.0 - i as f32 / (2 * CLIP_STEPS) as f32) / Q_MAX)
            .filter(|&s| s > 0.0)
            .map(|s| (error(s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(0.0, |(_, s)| s);
        scales.push(scale);
        q.extend(row.iter().map(|&v| {
            if scale > 0.0 {
                round(v, scale) as i8
            } else {
                0
            }
        }));
    }
    (q, scales)
}

/// Clipping levels tried per channel: 1, 1 - 1/20, ..., 1/2 of its largest magnitude.
const CLIP_STEPS: usize = 11;

/// The inverse of [`quantize_rows`]: `q[i] * scales[row(i)]`.
pub fn dequantize_rows(q: &[i8], scales: &[f32]) -> Vec<f32> {
    let per_row = q.len() / scales.len().max(1);
    q.chunks(per_row.max(1))
        .zip(scales)
        .flat_map(|(row, &s)| row.iter().map(move |&v| f32::from(v) * s))
        .collect()
}

/// Serialises `model` (without its classifier) in this format, with `metadata`.
pub fn record_bytes(model: &Backbone, metadata: &[(&str, &str)]) -> Result<Vec<u8>, MlError> {
    let snapshots = match model {
        Backbone::MobileNetV2(net) => net.collect(None, None, false),
        Backbone::EfficientNetLite0(net) => net.collect(None, None, false),
    };
    let mut tensors = Vec::new();
    for t in snapshots.into_iter().filter(|t| !is_top(&t.name)) {
        let name = t.name.clone();
        let shape = t.shape.to_vec();
        let values = bridge::to_data(&t)
            .map_err(|e| e.to_string())
            .and_then(|d| d.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}")))
            .map_err(|e| MlError::weights("record", format!("{name}: {e}")))?;
        match storage(&name, &shape) {
            Storage::Int8 => {
                let (q, scales) = quantize_rows(&values, shape[0]);
                let bytes: Vec<u8> = q.iter().map(|&v| v as u8).collect();
                tensors.push(PackTensor::new(
                    format!("{name}{SCALE_SUFFIX}"),
                    DType::F32,
                    vec![shape[0]],
                    None,
                    Bytes::from_elems(scales),
                ));
                tensors.push(PackTensor::new(
                    name,
                    DType::I8,
                    shape,
                    None,
                    Bytes::from_bytes_vec(bytes),
                ));
            }
            Storage::F16 => {
                let data = TensorData::new(values, shape.clone()).convert_dtype(DType::F16);
                tensors.push(PackTensor::new(
                    name,
                    DType::F16,
                    shape,
                    None,
                    data.into_bytes(),
                ));
            }
            Storage::F32 => tensors.push(PackTensor::new(
                name,
                DType::F32,
                shape,
                None,
                Bytes::from_elems(values),
            )),
        }
    }
    let mut writer = Writer::new(tensors);
    for (key, value) in metadata {
        writer = writer.with_metadata(key, value);
    }
    let bytes = writer
        .into_bytes()
        .map_err(|e| MlError::weights("record", e))?;
    Ok(bytes.to_vec())
}

/// The network's tensors from a record's bytes, dequantized to f32 and named as the module
/// names them (ready for [`ModuleSnapshot::apply`]).
pub fn read_tensors(name: &str, bytes: Vec<u8>) -> Result<Vec<PackTensor>, MlError> {
    let bad = |e: String| MlError::weights(name, format!("not an int8 record: {e}"));
    let reader =
        Reader::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut scales = BTreeMap::new();
    let mut tensors = Vec::new();
    for t in reader.into_tensors().map_err(|e| bad(e.to_string()))? {
        let (tname, dtype, shape, _, data) = t.into_parts().map_err(|e| bad(e.to_string()))?;
        match (tname.strip_suffix(SCALE_SUFFIX), dtype) {
            (Some(of), DType::F32) => {
                let n = shape.num_elements();
                scales.insert(of.to_string(), as_f32s(data, vec![n], dtype).map_err(&bad)?);
            }
            (None, DType::I8 | DType::F16 | DType::F32) => {
                tensors.push((tname, dtype, shape.to_vec(), data))
            }
            (_, other) => return Err(bad(format!("{tname} is {other:?}"))),
        }
    }
    let mut out = Vec::with_capacity(tensors.len());
    for (tname, dtype, shape, data) in tensors {
        let count: usize = shape.iter().product();
        let values = match (dtype, scales.remove(&tname)) {
            (DType::I8, Some(s)) if s.len() == shape[0] && data.len() == count => {
                let q: Vec<i8> = data.iter().map(|&b| b as i8).collect();
                dequantize_rows(&q, &s)
            }
            (DType::F32 | DType::F16, None) => {
                as_f32s(data, shape.clone(), dtype).map_err(|e| bad(format!("{tname}: {e}")))?
            }
            _ => return Err(bad(format!("{tname}: its scales do not match it"))),
        };
        if values.len() != count {
            return Err(bad(format!(
                "{tname}: {} values for {shape:?}",
                values.len()
            )));
        }
        out.push(bridge::from_data(
            TensorData::new(values, shape),
            tname,
            None,
        ));
    }
    if let Some(orphan) = scales.keys().next() {
        return Err(bad(format!(
            "scales for {orphan}, which is not in the record"
        )));
    }
    Ok(out)
}

/// A stored f32 or f16 tensor's values as f32 (burn's own conversion checks the byte count).
fn as_f32s(data: Bytes, shape: Vec<usize>, dtype: DType) -> Result<Vec<f32>, String> {
    TensorData::try_from_bytes(data, shape, dtype)
        .and_then(|d| d.try_into_vec_as::<f32>())
        .map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizing_keeps_each_channel_within_half_a_step() {
        // Two channels whose ranges differ by 1000x, as depthwise filters' do: per-channel
        // scales keep the small one's precision.
        let values = vec![0.5, -1.0, 0.25, 0.0, 0.0005, -0.001, 0.0002, 0.0];
        let (q, scales) = quantize_rows(&values, 2);
        assert_eq!(q[1], -127);
        assert_eq!(q[5], -127);
        let back = dequantize_rows(&q, &scales);
        for (i, (a, b)) in values.iter().zip(&back).enumerate() {
            let step = scales[i / 4];
            assert!((a - b).abs() <= step / 2.0 + 1e-9, "{i}: {a} vs {b}");
        }
    }

    #[test]
    fn a_zero_channel_stays_zero() {
        let (q, scales) = quantize_rows(&[0.0; 6], 2);
        assert_eq!(scales, vec![0.0, 0.0]);
        assert_eq!(dequantize_rows(&q, &scales), vec![0.0; 6]);
    }

    #[test]
    fn garbage_is_an_error() {
        let err = read_tensors("x.i8.bpk", vec![1, 2, 3]).unwrap_err();
        assert!(err.to_string().contains("x.i8.bpk"), "{err}");
    }
}
