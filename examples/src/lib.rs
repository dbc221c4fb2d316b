//! Runnable example functions (one per binary in `src/bin/`), and the custom executor that
//! `custom-executor` plugs in.

pub mod custom_executor;
