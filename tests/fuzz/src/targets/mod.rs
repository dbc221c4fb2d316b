//! The fuzz targets, one module per parser of network input (and what it drives).

pub mod context_json;
pub mod extension;
pub mod http_event;
pub mod lifecycle;
pub mod next;
pub mod telemetry;
pub mod wire;
