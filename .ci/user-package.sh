#!/usr/bin/env bash
# A function in a package of its own, outside this repository, as a user starts one: it depends
# on the tokio adapter by path, unit-tests its handler with `Context::for_test`, and runs under
# the emulator installed with `cargo install`, invoked from the package's own directory.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t user-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "installing lambda-emulator into $work/tools"
cargo install --quiet --debug --locked --path "$repo/tests/emulator" --root "$work/tools"

mkdir -p "$work/myfn/src"
cd "$work/myfn"
cat > Cargo.toml <<TOML
[package]
name = "myfn"
version = "0.1.0"
edition = "2024"

[dependencies]
lambda-runtime-types-tokio = { path = "$repo/executor-tokio" }
anyhow = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
TOML
cat > src/main.rs <<'RUST'
use lambda_runtime_types_tokio::{LambdaEvent, Runner};
use serde_json::{Value, json};

#[derive(serde::Deserialize)]
struct Request {
    name: String,
}

struct Greeter;

impl<'a> Runner<'a, String, Request, Value> for Greeter {
    async fn setup(region: &'a str) -> anyhow::Result<String> {
        Ok(format!("hello from {region}"))
    }

    async fn run(greeting: &'a String, event: LambdaEvent<'a, Request>) -> anyhow::Result<Value> {
        Ok(json!({ "greeting": greeting, "name": event.event.name, "id": event.ctx.request_id }))
    }
}

fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::run(Greeter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime_types_tokio::Context;

    #[test]
    fn greets_by_name() {
        let runtime = lambda_runtime_types_tokio::tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let shared = runtime.block_on(Greeter::setup("eu-west-1")).unwrap();
        let event = LambdaEvent::new(
            Request { name: "ci".into() },
            "eu-west-1",
            Context::for_test("req-1"),
        );
        let reply = runtime.block_on(Greeter::run(&shared, event)).unwrap();
        assert_eq!(
            reply,
            json!({ "greeting": "hello from eu-west-1", "name": "ci", "id": "req-1" })
        );
    }
}
RUST

echo "unit test of the handler"
cargo test --quiet
echo "the function under the installed emulator"
echo '{"name":"ci"}' > ev.json
cargo build --quiet
out="$("$work/tools/bin/lambda-emulator" --region eu-west-1 --event ev.json -- ./target/debug/myfn)"
echo "$out"
case "$out" in
  *'"greeting":"hello from eu-west-1"'*'"name":"ci"'*) echo "ok: the user package answered" ;;
  *) echo "the user package's function did not answer as expected" >&2; exit 1 ;;
esac
