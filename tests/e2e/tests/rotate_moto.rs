//! Secrets Manager rotation end to end: the core's rotation protocol and `AwsSecretStore` (the
//! official AWS SDK) against moto_server, a Secrets Manager-compatible server, not a mock of ours.
//!
//! They need moto_server, so they are `#[ignore]`d: `.ci/run` starts it on loopback, exports
//! `MOTO_ENDPOINT` and runs them with `--ignored`. Run that way without `MOTO_ENDPOINT`, they
//! fail. By hand: `python3 -m pip install 'moto[server]==5.2.1'`,
//! `python3 -m moto.server -H 127.0.0.1 -p 5055 &` and
//! `MOTO_ENDPOINT=http://127.0.0.1:5055 cargo test -p lambda-e2e --test rotate_moto -- --ignored`.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use lambda_runtime_types::rotate::aws::AwsSecretStore;
use lambda_runtime_types::rotate::{
    Event, PasswordPolicy, Rotate, RotateRunner, RotateShared, SecretContainer, SecretStore, Step,
};
use lambda_runtime_types::wire::Endpoint;
use lambda_runtime_types::{Config, Context, LambdaEvent, Runner};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

/// moto's endpoint; fails the test when `MOTO_ENDPOINT` is not set.
fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .expect(
            "MOTO_ENDPOINT is not set: start moto_server and set it to its URL (see this file's \
             doc; .ci/run does both)",
        )
}

/// An SDK configuration for moto: its endpoint and dummy credentials.
async fn moto_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no earlier run against the same moto_server used.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A `ClientRequestToken`: 32 to 64 characters.
fn token() -> String {
    format!("{:0>40}", unique("t"))
}

fn stored() -> Value {
    json!({
        "username": "app",
        "password": "old-password",
        "host": "db.internal",
        "port": 5432,
        "engine": "postgres",
        "options": {"ssl": true, "pool": [1, 2]}
    })
}

/// The service whose password is rotated (a database, say), and what the rotation did to it.
struct Service {
    endpoint: String,
    password: Mutex<String>,
    /// When set, `set` "succeeds" without changing the password, so `test` fails.
    broken: bool,
    sets: AtomicUsize,
    finishes: AtomicUsize,
}

impl Service {
    fn new(endpoint: &str, broken: bool) -> Self {
        Self {
            endpoint: endpoint.into(),
            password: Mutex::new("old-password".into()),
            broken,
            sets: AtomicUsize::new(0),
            finishes: AtomicUsize::new(0),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

struct Rotation;

impl<'a> RotateRunner<'a, Service, Login> for Rotation {
    type Store = AwsSecretStore;

    async fn setup(_region: &'a str) -> anyhow::Result<Service> {
        let endpoint = std::env::var("MOTO_ENDPOINT")?;
        Ok(Service::new(&endpoint, false))
    }

    async fn store(_region: &'a str) -> anyhow::Result<AwsSecretStore> {
        let endpoint = std::env::var("MOTO_ENDPOINT")?;
        Ok(AwsSecretStore::from_config(&moto_config(&endpoint).await))
    }

    async fn create(
        _shared: &'a Service,
        mut secret_cur: SecretContainer<Login>,
        store: &AwsSecretStore,
    ) -> anyhow::Result<SecretContainer<Login>> {
        secret_cur.password = store.generate_password(&PasswordPolicy::new()).await?;
        Ok(secret_cur)
    }

    async fn set(
        shared: &'a Service,
        secret_cur: SecretContainer<Login>,
        secret_new: SecretContainer<Login>,
    ) -> anyhow::Result<()> {
        shared.sets.fetch_add(1, Ordering::SeqCst);
        let mut password = shared.password.lock().unwrap();
        anyhow::ensure!(
            *password == secret_cur.password,
            "the current password is wrong"
        );
        if !shared.broken {
            *password = secret_new.data.password;
        }
        Ok(())
    }

    async fn test(shared: &'a Service, secret_new: SecretContainer<Login>) -> anyhow::Result<()> {
        anyhow::ensure!(
            *shared.password.lock().unwrap() == secret_new.password,
            "login failed"
        );
        Ok(())
    }

    async fn finish(
        shared: &'a Service,
        _secret_cur: SecretContainer<Login>,
        _secret_new: SecretContainer<Login>,
    ) -> anyhow::Result<()> {
        shared.finishes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

type State = RotateShared<Service, Login, AwsSecretStore>;

/// Runs one step through `Rotate<Rotation>` as a `Runner`, as an adapter would.
async fn step(state: &State, secret_id: &str, token: &str, step: Step) -> anyhow::Result<()> {
    let config = Arc::new(Config::for_endpoint(
        Endpoint::parse("127.0.0.1:9001").unwrap(),
    ));
    let ctx = Context::new(format!("{step:?}"), config);
    let event = LambdaEvent::new(Event::new(token, secret_id, step), REGION, ctx);
    <Rotate<Rotation> as Runner<'_, State, Event, ()>>::run(state, event).await
}

/// Creates a secret holding [`stored`]; returns its name and first version id.
async fn create_secret(client: &Client) -> (String, String) {
    let name = unique("rotate-e2e");
    let out = client
        .create_secret()
        .name(&name)
        .secret_string(stored().to_string())
        .send()
        .await
        .expect("CreateSecret on moto");
    (name, out.version_id().unwrap().to_string())
}

/// (version id, parsed value) of the version with `stage`.
async fn at(client: &Client, name: &str, stage: &str) -> (String, Value) {
    let out = client
        .get_secret_value()
        .secret_id(name)
        .version_stage(stage)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetSecretValue {stage}: {e:?}"));
    let value = serde_json::from_str(out.secret_string().unwrap()).unwrap();
    (out.version_id().unwrap().to_string(), value)
}

async fn version_count(client: &Client, name: &str) -> usize {
    let out = client
        .list_secret_version_ids()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    out.versions().len()
}

#[tokio::test]
#[ignore = "needs moto_server at MOTO_ENDPOINT: run by .ci/run with --ignored"]
async fn a_rotation_makes_a_new_current_version_keeping_unknown_fields_and_retries_are_no_ops() {
    let endpoint = moto_endpoint();
    let client = Client::new(&moto_config(&endpoint).await);
    let (name, v1) = create_secret(&client).await;
    let token = token();
    let state = <Rotate<Rotation> as Runner<'_, State, Event, ()>>::setup(REGION)
        .await
        .expect("setup builds the service and the SDK store");
    assert_eq!(state.shared().endpoint, endpoint);

    // createSecret, retried: one new version, AWSPENDING under the token.
    step(&state, &name, &token, Step::Create).await.unwrap();
    let (pending_id, pending) = at(&client, &name, "AWSPENDING").await;
    step(&state, &name, &token, Step::Create).await.unwrap();
    assert_eq!(pending_id, token);
    assert_eq!(
        at(&client, &name, "AWSPENDING").await,
        (pending_id, pending.clone())
    );
    assert_eq!(version_count(&client, &name).await, 2);
    assert_eq!(
        at(&client, &name, "AWSCURRENT").await,
        (v1.clone(), stored())
    );

    // setSecret, retried: the service gets the new password once.
    step(&state, &name, &token, Step::Set).await.unwrap();
    step(&state, &name, &token, Step::Set).await.unwrap();
    assert_eq!(state.shared().sets.load(Ordering::SeqCst), 1);
    assert_eq!(
        *state.shared().password.lock().unwrap(),
        pending["password"]
    );

    // testSecret, retried.
    step(&state, &name, &token, Step::Test).await.unwrap();
    step(&state, &name, &token, Step::Test).await.unwrap();

    // finishSecret, retried: AWSCURRENT moves once.
    step(&state, &name, &token, Step::Finish).await.unwrap();
    step(&state, &name, &token, Step::Finish).await.unwrap();
    assert_eq!(state.shared().finishes.load(Ordering::SeqCst), 1);
    let (current_id, current) = at(&client, &name, "AWSCURRENT").await;
    assert_eq!(current_id, token);
    assert_eq!(version_count(&client, &name).await, 2);

    // The new value: a fresh GetRandomPassword password, every other field as it was.
    let password = current["password"].as_str().unwrap();
    assert_ne!(password, "old-password");
    assert_eq!(password.len(), 32, "the service's default length");
    assert!(
        !password.contains(['"', '\\']),
        "PasswordPolicy's default exclusions"
    );
    assert_eq!(*state.shared().password.lock().unwrap(), password);
    let mut expected = stored();
    expected["password"] = json!(password);
    assert_eq!(current, expected);

    // The old version is no longer current.
    let old = client
        .get_secret_value()
        .secret_id(&name)
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert!(
        !old.version_stages().iter().any(|s| s == "AWSCURRENT"),
        "{old:?}"
    );
}

#[tokio::test]
#[ignore = "needs moto_server at MOTO_ENDPOINT: run by .ci/run with --ignored"]
async fn a_failing_test_leaves_awscurrent_untouched_and_the_retry_reuses_the_pending_version() {
    let endpoint = moto_endpoint();
    let client = Client::new(&moto_config(&endpoint).await);
    let (name, v1) = create_secret(&client).await;
    let token = token();
    let store = AwsSecretStore::from_config(&moto_config(&endpoint).await);
    let broken = RotateShared::new(Service::new(&endpoint, true), store.clone());

    step(&broken, &name, &token, Step::Create).await.unwrap();
    step(&broken, &name, &token, Step::Set).await.unwrap();
    let err = step(&broken, &name, &token, Step::Test).await.unwrap_err();
    assert!(format!("{err:#}").contains("login failed"), "{err:#}");
    // Secrets Manager stops at a failed step; AWSCURRENT is the original value.
    assert_eq!(
        at(&client, &name, "AWSCURRENT").await,
        (v1.clone(), stored())
    );
    let (_, pending) = at(&client, &name, "AWSPENDING").await;
    assert!(!format!("{err:?}").contains(pending["password"].as_str().unwrap()));

    // Secrets Manager retries the rotation with the same token; with the service fixed it
    // completes with the pending value created the first time.
    let fixed = RotateShared::new(Service::new(&endpoint, false), store);
    for s in [Step::Create, Step::Set, Step::Test, Step::Finish] {
        step(&fixed, &name, &token, s).await.unwrap();
    }
    assert_eq!(
        at(&client, &name, "AWSCURRENT").await,
        (token.clone(), pending)
    );
    assert_eq!(version_count(&client, &name).await, 2);
}

#[tokio::test]
#[ignore = "needs moto_server at MOTO_ENDPOINT: run by .ci/run with --ignored"]
async fn the_example_events_run_through_exec_test() {
    let endpoint = moto_endpoint();
    let client = Client::new(&moto_config(&endpoint).await);
    let (name, _) = create_secret(&client).await;
    let token = token();
    // The rotation example's events (the seed's rotate.json invocations) in the seed's test-data
    // shape, with this run's secret and token.
    let events = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/events/rotate.jsonl"
    );
    let events = std::fs::read_to_string(events).unwrap();
    let invocations: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(invocations.len(), 4);
    let mut data = json!({"region": REGION, "invocations": invocations});
    for invocation in data["invocations"].as_array_mut().unwrap() {
        invocation["ClientRequestToken"] = json!(token);
        invocation["SecretId"] = json!(name);
    }
    let outcomes =
        lambda_runtime_types::testing::exec_test::<_, _, Rotate<Rotation>, _>(&data.to_string())
            .await
            .unwrap();
    assert_eq!(outcomes.len(), 4);
    for outcome in outcomes {
        assert_eq!(outcome.unwrap(), Value::Null);
    }
    let (current_id, current) = at(&client, &name, "AWSCURRENT").await;
    assert_eq!(current_id, token);
    assert_eq!(current["host"], "db.internal");
    assert_ne!(current["password"], "old-password");
}
