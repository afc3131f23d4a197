//! Helpers shared by the native integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared test photos (`../shared/data/pets`, or `$WHISKER_DATA`).
pub fn pets() -> PathBuf {
    let dir = std::env::var_os("WHISKER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/pets"));
    assert!(
        dir.join("train/cat").is_dir(),
        "test photos not found at {} (set WHISKER_DATA)",
        dir.display()
    );
    dir
}

/// The f32 backbone record; panics with the set-up command when it is missing.
pub fn record(name: &str) -> PathBuf {
    let p = root().join("static/models").join(name);
    assert!(
        p.is_file(),
        "{} missing: run scripts/setup-weights.sh first",
        p.display()
    );
    p
}

/// The pretrained `kind` backbone from its record in `static/models/`.
pub fn backbone(
    kind: whisker::ml::backbone::BackboneKind,
    precision: whisker::ml::backbone::Precision,
) -> whisker::ml::backbone::Backbone {
    let path = record(kind.record_file(precision));
    whisker::ml::weights::load_record_file(kind, &path, &burn::tensor::Device::flex()).unwrap()
}
