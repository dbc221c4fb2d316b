//! Sans-IO AWS Lambda runtime (work in progress).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "alloc")]
pub mod config;
#[cfg(feature = "alloc")]
pub mod context;
#[cfg(feature = "alloc")]
pub mod diagnostic;
#[cfg(feature = "alloc")]
pub mod driver;
pub mod error;
pub mod error_type;
#[cfg(feature = "alloc")]
pub mod event;
pub mod id;
pub mod lifecycle;
#[cfg(feature = "alloc")]
pub mod rotate;
#[cfg(feature = "alloc")]
pub mod runner;
#[cfg(feature = "std")]
pub mod testing;
pub mod time;
pub mod wire;

#[cfg(feature = "alloc")]
pub use config::Config;
#[cfg(feature = "alloc")]
pub use context::Context;
#[cfg(feature = "alloc")]
pub use diagnostic::Diagnostic;
#[cfg(feature = "alloc")]
pub use runner::{LambdaEvent, Runner};
