//! New ids for the things the page creates: photos, classes, prediction rows. One counter serves
//! all, so an id is also unique across kinds (handy in logs).

use super::state::ClassId;
use crate::core::dataset::PhotoId;
use std::cell::Cell;

/// A photo dropped on the predict panel (not kept by the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PredictionId(pub u64);

thread_local! {
    static NEXT: Cell<u64> = const { Cell::new(1) };
}

fn next() -> u64 {
    NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// A new photo id.
pub fn photo_id() -> PhotoId {
    PhotoId(next())
}

/// A new class id.
pub fn class_id() -> ClassId {
    ClassId(next())
}

/// A new prediction row id.
pub fn prediction_id() -> PredictionId {
    PredictionId(next())
}
