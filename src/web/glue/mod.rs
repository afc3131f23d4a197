//! Thin, typed wrappers over the browser APIs the app needs. Errors here are typed; the UI turns
//! them into plain words (see `crate::web::words`).

pub mod decode;
pub mod fetch;
pub mod gpu;
pub mod js;
pub mod yield_now;
