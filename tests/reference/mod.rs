//! Reading the PyTorch reference fixtures (`scripts/make-fixture*.sh`) and comparing against them;
//! shared by the per-backbone reference tests.
#![allow(dead_code)]

use burn::prelude::*;
use burn::tensor::TensorData;
use safetensors::SafeTensors;
use whisker::ml::backbone::{Backbone, BackboneKind, Precision};

/// One backbone's reference outputs on the fixture photos.
pub struct Fixture {
    /// Photo paths under the pets folder.
    pub photos: Vec<String>,
    /// The stage whose pooled output is stored.
    pub cut_stage: usize,
    /// The reference preprocessing of each photo, `[N, 3, 224, 224]` flattened (f16 values).
    pub inputs: Vec<f32>,
    /// ImageNet logits, `[N, 1000]`.
    pub logits: Vec<f32>,
    /// Pooled features, `[N, 1280]`.
    pub features: Vec<f32>,
    /// Pooled output of `cut_stage`, `[N, C]`.
    pub cut_pooled: Vec<f32>,
}

fn f32s(st: &SafeTensors, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap();
    match t.dtype() {
        safetensors::Dtype::F32 => t
            .data()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        safetensors::Dtype::F16 => t
            .data()
            .chunks(2)
            .map(|b| half::f16::from_le_bytes(b.try_into().unwrap()).to_f32())
            .collect(),
        d => panic!("{name}: unexpected dtype {d:?}"),
    }
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(super::common::root().join("tests/fixtures").join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e} (see scripts/make-fixture*.sh)"))
}

/// Reads `tests/fixtures/<name>`. The stage cut early is named `cut_stage` in the metadata
/// (`cut_block` in the MobileNetV2 fixture, whose stages are torchvision's `features.k`).
pub fn fixture(name: &str) -> Fixture {
    let bytes = read(name);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (cut_stage, cut_key) = match meta.get("cut_stage") {
        Some(s) => (s.parse().unwrap(), format!("stage{s}_pooled")),
        None => (
            meta["cut_block"].parse().unwrap(),
            format!("block{}_pooled", meta["cut_block"]),
        ),
    };
    Fixture {
        photos: serde_json::from_str(&meta["photos"]).unwrap(),
        cut_stage,
        inputs: f32s(&st, "inputs"),
        logits: f32s(&st, "logits"),
        features: f32s(&st, "features"),
        cut_pooled: f32s(&st, &cut_key),
    }
}

/// PIL's decoded pixels of the fixture photos, `(width, height, RGB bytes)`, stored in the
/// MobileNetV2 fixture (both fixtures use them).
pub fn pil_pixels() -> Vec<(usize, usize, Vec<u8>)> {
    let bytes = read("torchvision_reference.safetensors");
    let st = SafeTensors::deserialize(&bytes).unwrap();
    (0..)
        .map_while(|i| st.tensor(&format!("pixels{i}")).ok())
        .map(|t| {
            assert_eq!(t.dtype(), safetensors::Dtype::U8);
            let shape = t.shape();
            (shape[1], shape[0], t.data().to_vec())
        })
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Our logits, pooled features and pooled `cut_stage` output on the fixture's inputs.
pub fn run(net: &Backbone, fx: &Fixture) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    run_with_top(net, net, fx)
}

/// As [`run`], the logits from `top`'s ImageNet classifier on `net`'s features: the int8
/// record leaves the classifier out, so its logits are the f32 classifier's on its features.
pub fn run_with_top(
    net: &Backbone,
    top: &Backbone,
    fx: &Fixture,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = Device::flex();
    let n = fx.photos.len();
    let x = Tensor::<4>::from_data(
        TensorData::new(fx.inputs.clone(), [n, 3, 224, 224]),
        &device,
    );
    let features = net.features(x.clone());
    (
        values(
            top.imagenet_logits(features.clone())
                .expect("`top` has the classifier"),
        ),
        values(features),
        values(net.features_until(x, fx.cut_stage)),
    )
}

/// Holds `kind`'s int8 record (no ImageNet classifier) to the fixture: pooled features and the
/// fixture's cut stage at a cosine of at least 0.995 a photo, logits (the f32 record's
/// classifier on the int8 features) within 0.75, the top class unchanged.
pub fn check_int8_record(kind: BackboneKind, fx: &Fixture) {
    const I8_LOGIT_TOLERANCE: f32 = 0.75;
    const I8_MIN_COSINE: f32 = 0.995;
    let net = super::common::backbone(kind, Precision::I8);
    let pooled = Tensor::<2>::zeros([1, 1280], &Device::flex());
    assert!(
        net.imagenet_logits(pooled).is_none(),
        "the int8 record leaves the classifier out"
    );
    let top = super::common::backbone(kind, Precision::F32);
    let (logits, features, cut) = run_with_top(&net, &top, fx);
    let d_logits = max_abs_diff(&logits, &fx.logits);
    let d_features = max_abs_diff(&features, &fx.features);
    let cos_features = min_row_cosine(&features, &fx.features, 1280);
    let cos_cut = min_row_cosine(&cut, &fx.cut_pooled, fx.cut_pooled.len() / fx.photos.len());
    println!(
        "i8: max abs diff logits {d_logits:.2e}, features {d_features:.2e}; cosine features {cos_features:.5}, cut stage {cos_cut:.5}"
    );
    assert!(
        d_logits <= I8_LOGIT_TOLERANCE,
        "i8 logits differ by {d_logits}"
    );
    assert!(
        cos_features >= I8_MIN_COSINE,
        "i8 features' cosine {cos_features}"
    );
    assert!(cos_cut >= I8_MIN_COSINE, "i8 cut stage's cosine {cos_cut}");
    assert_eq!(argmax_rows(&logits, 1000), argmax_rows(&fx.logits, 1000));
}

/// Cosine similarity of two equally long vectors, row by row of `k`: the smallest.
pub fn min_row_cosine(a: &[f32], b: &[f32], k: usize) -> f32 {
    a.chunks(k)
        .zip(b.chunks(k))
        .map(|(x, y)| {
            let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            let norm = |v: &[f32]| v.iter().map(|p| p * p).sum::<f32>().sqrt();
            dot / (norm(x) * norm(y))
        })
        .fold(1.0, f32::min)
}

pub fn argmax_rows(v: &[f32], k: usize) -> Vec<usize> {
    v.chunks(k).map(whisker::core::metrics::argmax).collect()
}

/// Largest difference between our preprocessed photo `ours` and the fixture's photo `i`, in
/// units of `scale` per channel (the transform's std, to get `[0, 1]` pixel units).
pub fn worst_input_diff(fx: &Fixture, i: usize, ours: &[f32], scale: [f32; 3]) -> f32 {
    let plane = 224 * 224;
    let theirs = &fx.inputs[i * 3 * plane..(i + 1) * 3 * plane];
    (0..3)
        .map(|c| {
            let range = c * plane..(c + 1) * plane;
            max_abs_diff(&ours[range.clone()], &theirs[range]) * scale[c]
        })
        .fold(0.0, f32::max)
}

/// The photos of `val/cat` (all 100) without an ImageNet cat class (281 tabby ..= 285 Egyptian
/// cat) in their top 5 under `net` (its features through `top`'s ImageNet classifier),
/// preprocessed for it and run in batches of 16.
pub fn cats_without_a_cat_class(net: &Backbone, top: &Backbone) -> Vec<String> {
    let dir = super::common::pets().join("val/cat");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 100);
    let pre = net.kind().preprocess();
    let device = Device::flex();
    let mut misses = Vec::new();
    for chunk in names.chunks(16) {
        let mut inputs = Vec::new();
        for name in chunk {
            inputs.extend(whisker::cli::images::load_input(&dir.join(name), &pre).unwrap());
        }
        let x =
            Tensor::<4>::from_data(TensorData::new(inputs, [chunk.len(), 3, 224, 224]), &device);
        for (name, row) in chunk
            .iter()
            .zip(values(top.imagenet_logits(net.features(x)).unwrap()).chunks(1000))
        {
            let mut idx: Vec<usize> = (0..1000).collect();
            idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            if !idx[..5].iter().any(|c| (281..=285).contains(c)) {
                misses.push(format!("{name} {:?}", &idx[..5]));
            }
        }
    }
    misses
}
