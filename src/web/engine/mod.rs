//! The engine: everything that runs in the Web Worker. It owns the user's photos (decoded and
//! preprocessed), the [`Session`](crate::ml::session::Session) (device, backbone, feature cache,
//! trained model), and answers the page's requests (see [`crate::web::protocol`]).
//!
//! - `worker`: the worker's entry point;
//! - `dispatcher`: serves each request;
//! - `load`: builds the session (backend, weights, warm-up), with `backend` choosing the device;
//! - `photos`: the photo store.
//!
//! Nothing here imports the page side.

pub mod backend;
pub mod dispatcher;
pub mod load;
pub mod photos;
pub mod worker;
