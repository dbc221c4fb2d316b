//! The smol adapter for [`lambda_runtime_types`] (work in progress).
#![deny(missing_docs)]

pub use lambda_runtime_types as core;
