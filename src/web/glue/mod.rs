//! Thin, typed wrappers over the browser APIs the app needs. Errors here are typed; the UI turns
//! them into plain words (see `crate::web::page::words`). Both the page and the engine use them.

pub mod camera;
pub mod decode;
pub mod download;
pub mod fetch;
pub mod gpu;
pub mod js;
pub mod storage;
pub mod yield_now;
