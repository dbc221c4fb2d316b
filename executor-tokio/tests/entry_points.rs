//! The entry points' own failures, before any Runtime API is reached.

use lambda_runtime_types_tokio::LambdaEvent;
use serde_json::Value;

#[test]
fn a_blocking_entry_point_inside_a_runtime_names_the_async_one() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = runtime
        .block_on(async {
            lambda_runtime_types_tokio::run_fn(async |event: LambdaEvent<'_, Value>| {
                Ok::<_, anyhow::Error>(event.event)
            })
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("inside a tokio runtime"), "{err}");
    assert!(err.contains("serve(runner).await"), "{err}");
}
