//! The echo function writing one log record per invocation, shared by `echo-log-tokio` and
//! `echo-log-smol`: what the benchmark (`tests/bench`, `bench -- --log`) measures a log line's
//! cost with. Its argument says which record: `info` (the default) one `log::info!` line,
//! `debug` one `log::debug!` record (below the default level INFO, so filtered out), `none` no
//! record (the same binary as the baseline).

use lambda_runtime_types::{LambdaEvent, Runner};
use serde_json::Value;

/// Which record each invocation logs.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    None,
    Info,
    Debug,
}

/// The function: the event back, after the record its mode asks for.
pub struct Echo;

impl<'a> Runner<'a, Mode, Value, Value> for Echo {
    async fn run(mode: &'a Mode, event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
        match mode {
            Mode::Info => log::info!("echoing the event"),
            Mode::Debug => log::debug!("echoing the event"),
            Mode::None => {}
        }
        Ok(event.event)
    }

    async fn setup(_region: &'a str) -> anyhow::Result<Mode> {
        match std::env::args().nth(1).as_deref() {
            None | Some("info") => Ok(Mode::Info),
            Some("debug") => Ok(Mode::Debug),
            Some("none") => Ok(Mode::None),
            Some(other) => anyhow::bail!("unknown mode {other:?}: info, debug or none"),
        }
    }
}
