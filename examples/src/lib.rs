//! Runnable example functions (one per binary in `src/bin/`), and the custom executor that
//! `custom-executor` plugs in.

pub mod custom_executor;

/// The workspace README's Rust examples run as doc tests here, in a package that is never
/// published (a published crate cannot reach the README).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
