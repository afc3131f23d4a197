//! The records `scripts/setup-weights.sh` made are the ones the code describes: their sizes are
//! what the page announces as each backbone's download ([`BackboneKind::record_size`]), and each
//! loads as its own backbone only.

mod common;

use whisker::ml::backbone::{BackboneKind, Precision};
use whisker::ml::weights::load_record_file;

#[test]
fn record_sizes_are_the_announced_download_sizes() {
    for kind in BackboneKind::ALL {
        for precision in [Precision::F32, Precision::F16, Precision::I8] {
            let path = common::record(kind.record_file(precision));
            let size = std::fs::metadata(&path).unwrap().len();
            println!("{}: {size} bytes", path.display());
            assert_eq!(size, kind.record_size(precision), "{}", path.display());
        }
    }
}

#[test]
fn a_record_loads_as_its_own_backbone_only() {
    let device = burn::tensor::Device::flex();
    let [a, b] = BackboneKind::ALL;
    for (record_of, loaded_as) in [(a, b), (b, a)] {
        for precision in [Precision::F16, Precision::I8] {
            let path = common::record(record_of.record_file(precision));
            let err = load_record_file(loaded_as, &path, &device).unwrap_err();
            println!("{err}");
            assert!(err.to_string().contains(loaded_as.name()), "{err}");
        }
    }
}
