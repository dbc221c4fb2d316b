//! What the watchdog costs: the per-invocation arm/disarm pair the driver does, and one memory
//! sample (the watchdog thread takes one every `TICK_MS` while handlers run).
//!
//! ```text
//! cargo run --release -p lambda-emulator --bin watchdog-cost
//! ```

use std::hint::black_box;
use std::time::Instant;

use lambda_runtime_types::Config;
use lambda_runtime_types::lifecycle::Invocation;
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::watchdog::{TICK_MS, Watchdog, resident_bytes};
use lambda_runtime_types::wire::{Endpoint, ResponseHead};

fn main() {
    let mut config = Config::for_endpoint(Endpoint::parse("127.0.0.1:9").expect("endpoint"));
    config.watchdog = true;
    let dog = Watchdog::new(&config, 1).expect("watchdog on");
    let head = ResponseHead::new(200)
        .with_header(
            "Lambda-Runtime-Aws-Request-Id",
            b"8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        )
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000")
        .with_header(
            "Lambda-Runtime-Trace-Id",
            b"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        );
    let inv = Invocation::from_head(&head).expect("invocation");
    let far = Some(EpochMillis::now().saturating_add(3_600_000));

    let n = 1_000_000;
    let start = Instant::now();
    for _ in 0..n {
        dog.arm(0, black_box(&inv), far);
        black_box(dog.disarm(0));
    }
    let pair_ns = start.elapsed().as_nanos() as f64 / f64::from(n);

    let samples = 20_000;
    let start = Instant::now();
    for _ in 0..samples {
        black_box(resident_bytes());
    }
    let sample_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(samples);
    let per_second = 1000.0 / TICK_MS as f64;

    println!("arm + disarm per invocation: {pair_ns:.0} ns");
    println!("one memory sample (statm):    {sample_us:.1} µs");
    println!(
        "watchdog thread while handlers run: {per_second:.0} samples/s = {:.2} % of one CPU",
        per_second * sample_us / 1e4
    );
}
