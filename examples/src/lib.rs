//! Runnable example functions (one per binary in `src/bin/`), and the custom executor that
//! `custom-executor` plugs in, and the external extension `extension-tokio` and
//! `extension-smol` share.

pub mod custom_executor;
pub mod extension;

/// The workspace README's Rust examples run as doc tests here, in a package that is never
/// published (a published crate cannot reach the README).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
