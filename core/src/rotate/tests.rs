//! The rotation protocol against an in-memory store and a simulated service.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::pin::pin;
use core::task::{Context as TaskContext, Poll, Waker};

use serde_json::json;

use super::*;
use crate::config::Config;
use crate::context::Context;
use crate::wire::Endpoint;

const ID: &str = "test_secret";
const TOKEN: &str = "ee1d48d8-fa25-4e15-93de-1b9c6c6abea7";

/// Polls a future that never waits (everything here is in memory) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory future waited"),
    }
}

/// An in-memory Secrets Manager with one secret.
#[derive(Default)]
struct MemoryStore {
    /// (version id, value, stages)
    versions: RefCell<Vec<(String, String, Vec<Stage>)>>,
    puts: Cell<usize>,
    moves: Cell<usize>,
}

impl MemoryStore {
    fn with_current(version: &str, value: serde_json::Value) -> Self {
        let store = Self::default();
        store
            .versions
            .borrow_mut()
            .push((version.into(), value.to_string(), vec![Stage::Current]));
        store
    }

    fn add(&self, version: &str, value: serde_json::Value, stages: &[Stage]) {
        self.versions
            .borrow_mut()
            .push((version.into(), value.to_string(), stages.to_vec()));
    }

    fn at(&self, stage: Stage) -> Option<(String, serde_json::Value)> {
        self.versions
            .borrow()
            .iter()
            .find(|v| v.2.contains(&stage))
            .map(|v| (v.0.clone(), serde_json::from_str(&v.1).unwrap()))
    }
}

impl SecretStore for MemoryStore {
    async fn value(&self, secret_id: &str, stage: Stage) -> anyhow::Result<Option<SecretVersion>> {
        anyhow::ensure!(secret_id == ID, "no such secret: {secret_id}");
        Ok(self
            .versions
            .borrow()
            .iter()
            .find(|v| v.2.contains(&stage))
            .map(|v| SecretVersion::new(v.0.clone(), v.1.clone())))
    }

    async fn put_pending(&self, secret_id: &str, token: &str, value: &str) -> anyhow::Result<()> {
        anyhow::ensure!(secret_id == ID, "no such secret: {secret_id}");
        self.puts.set(self.puts.get() + 1);
        let mut versions = self.versions.borrow_mut();
        if let Some(v) = versions.iter().find(|v| v.0 == token) {
            anyhow::ensure!(v.1 == value, "version {token} exists with another value");
            return Ok(());
        }
        for v in versions.iter_mut() {
            v.2.retain(|s| *s != Stage::Pending);
        }
        versions.push((token.into(), value.into(), vec![Stage::Pending]));
        Ok(())
    }

    async fn move_stage(
        &self,
        secret_id: &str,
        stage: Stage,
        to_version: &str,
        from_version: &str,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(secret_id == ID, "no such secret: {secret_id}");
        self.moves.set(self.moves.get() + 1);
        let mut versions = self.versions.borrow_mut();
        let from = versions.iter_mut().find(|v| v.0 == from_version).unwrap();
        anyhow::ensure!(
            from.2.contains(&stage),
            "{from_version} does not have {stage}"
        );
        from.2.retain(|s| *s != stage);
        versions
            .iter_mut()
            .find(|v| v.0 == to_version)
            .unwrap()
            .2
            .push(stage);
        Ok(())
    }

    async fn generate_password(&self, policy: &PasswordPolicy) -> anyhow::Result<String> {
        Ok("n".repeat(policy.length.unwrap_or(32) as usize))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The service whose password is rotated, and what the rotation did to it.
struct Service {
    password: RefCell<String>,
    calls: RefCell<Vec<&'static str>>,
    finish_fails: Cell<bool>,
}

struct Rotation;

impl<'a> RotateRunner<'a, Service, Login> for Rotation {
    type Store = MemoryStore;

    async fn setup(_region: &'a str) -> anyhow::Result<Service> {
        unreachable!("the tests build the shared data themselves")
    }

    async fn store(_region: &'a str) -> anyhow::Result<MemoryStore> {
        unreachable!("the tests build the store themselves")
    }

    async fn create(
        shared: &'a Service,
        mut secret_cur: SecretContainer<Login>,
        store: &MemoryStore,
    ) -> anyhow::Result<SecretContainer<Login>> {
        shared.calls.borrow_mut().push("create");
        secret_cur.password = store
            .generate_password(&PasswordPolicy::new().length(12))
            .await?;
        Ok(secret_cur)
    }

    async fn set(
        shared: &'a Service,
        secret_cur: SecretContainer<Login>,
        secret_new: SecretContainer<Login>,
    ) -> anyhow::Result<()> {
        shared.calls.borrow_mut().push("set");
        let mut password = shared.password.borrow_mut();
        anyhow::ensure!(
            *password == secret_cur.password,
            "the current password is wrong"
        );
        *password = secret_new.data.password;
        Ok(())
    }

    async fn test(shared: &'a Service, secret_new: SecretContainer<Login>) -> anyhow::Result<()> {
        shared.calls.borrow_mut().push("test");
        anyhow::ensure!(
            *shared.password.borrow() == secret_new.password,
            "login failed"
        );
        Ok(())
    }

    async fn finish(
        shared: &'a Service,
        _secret_cur: SecretContainer<Login>,
        _secret_new: SecretContainer<Login>,
    ) -> anyhow::Result<()> {
        shared.calls.borrow_mut().push("finish");
        anyhow::ensure!(!shared.finish_fails.get(), "finish failed");
        Ok(())
    }
}

type State = RotateShared<Service, Login, MemoryStore>;

fn state(store: MemoryStore) -> State {
    let service = Service {
        password: RefCell::new("old".into()),
        calls: RefCell::default(),
        finish_fails: Cell::new(false),
    };
    RotateShared::new(service, store)
}

fn stored() -> serde_json::Value {
    json!({"username": "app", "password": "old", "host": "db.internal", "port": 5432,
           "options": {"ssl": true}})
}

/// Runs `step` through `Rotate<Rotation>` as a `Runner`, the way an adapter would.
fn step(state: &State, step: Step) -> anyhow::Result<()> {
    let config = Arc::new(Config::for_endpoint(
        Endpoint::parse("127.0.0.1:9001").unwrap(),
    ));
    let event = LambdaEvent::new(
        Event::new(TOKEN, ID, step),
        "eu-central-1",
        Context::new("r", config),
    );
    ready(<Rotate<Rotation> as Runner<'_, State, Event, ()>>::run(
        state, event,
    ))
}

fn calls(state: &State) -> Vec<&'static str> {
    core::mem::take(&mut *state.shared().calls.borrow_mut())
}

#[test]
fn a_full_rotation_changes_the_password_and_keeps_unknown_fields() {
    let s = state(MemoryStore::with_current("v1", stored()));
    for st in [Step::Create, Step::Set, Step::Test, Step::Finish] {
        step(&s, st).unwrap();
    }
    assert_eq!(calls(&s), ["create", "test", "set", "test", "finish"]);
    let (version, value) = s.store().at(Stage::Current).unwrap();
    assert_eq!(version, TOKEN);
    let mut expected = stored();
    expected["password"] = json!("nnnnnnnnnnnn");
    assert_eq!(value, expected);
    assert_eq!(*s.shared().password.borrow(), "nnnnnnnnnnnn");
    assert_eq!(s.store().at(Stage::Current).unwrap().0, TOKEN);
    assert_eq!(s.store().moves.get(), 1);
}

#[test]
fn every_step_can_be_retried_without_doing_its_work_twice() {
    let s = state(MemoryStore::with_current("v1", stored()));
    for st in [
        Step::Create,
        Step::Create,
        Step::Set,
        Step::Set,
        Step::Test,
        Step::Test,
    ] {
        step(&s, st).unwrap();
    }
    // The retried setSecret only tests; each testSecret tests.
    assert_eq!(calls(&s), ["create", "test", "set", "test", "test", "test"]);
    assert_eq!(s.store().puts.get(), 1);
    step(&s, Step::Finish).unwrap();
    step(&s, Step::Finish).unwrap();
    assert_eq!(calls(&s), ["finish"]);
    assert_eq!(s.store().moves.get(), 1);
    assert_eq!(s.store().at(Stage::Current).unwrap().0, TOKEN);
}

#[test]
fn create_reuses_an_existing_pending_version() {
    let store = MemoryStore::with_current("v1", stored());
    store.add(
        "stale",
        json!({"username": "app", "password": "p2"}),
        &[Stage::Pending],
    );
    let s = state(store);
    step(&s, Step::Create).unwrap();
    assert_eq!(calls(&s), Vec::<&str>::new());
    assert_eq!(s.store().puts.get(), 0);
    assert_eq!(s.store().at(Stage::Pending).unwrap().0, "stale");
}

#[test]
fn create_ignores_a_pending_label_left_on_the_current_version() {
    let store = MemoryStore::default();
    store.add("v1", stored(), &[Stage::Current, Stage::Pending]);
    let s = state(store);
    step(&s, Step::Create).unwrap();
    assert_eq!(calls(&s), ["create"]);
    assert_eq!(s.store().at(Stage::Pending).unwrap().0, TOKEN);
}

#[test]
fn set_is_skipped_when_the_service_already_has_the_new_password() {
    let s = state(MemoryStore::with_current("v1", stored()));
    step(&s, Step::Create).unwrap();
    *s.shared().password.borrow_mut() = "nnnnnnnnnnnn".into();
    calls(&s);
    step(&s, Step::Set).unwrap();
    assert_eq!(calls(&s), ["test"]);
}

#[test]
fn a_failing_test_fails_the_step_and_leaves_awscurrent_alone() {
    let s = state(MemoryStore::with_current("v1", stored()));
    step(&s, Step::Create).unwrap();
    // setSecret is skipped (as if it had failed in the service): the service keeps "old".
    let err = step(&s, Step::Test).unwrap_err();
    assert!(format!("{err:#}").contains("login failed"), "{err:#}");
    assert_eq!(
        s.store().at(Stage::Current).unwrap(),
        ("v1".to_owned(), stored())
    );
    assert_eq!(s.store().moves.get(), 0);
}

#[test]
fn a_failing_finish_hook_leaves_awscurrent_alone_and_can_be_retried() {
    let s = state(MemoryStore::with_current("v1", stored()));
    for st in [Step::Create, Step::Set, Step::Test] {
        step(&s, st).unwrap();
    }
    s.shared().finish_fails.set(true);
    assert!(step(&s, Step::Finish).is_err());
    assert_eq!(s.store().at(Stage::Current).unwrap().0, "v1");
    s.shared().finish_fails.set(false);
    step(&s, Step::Finish).unwrap();
    assert_eq!(s.store().at(Stage::Current).unwrap().0, TOKEN);
}

#[test]
fn missing_versions_are_clear_errors() {
    let s = state(MemoryStore::default());
    let err = step(&s, Step::Create).unwrap_err();
    assert_eq!(
        format!("{err}"),
        "secret test_secret has no AWSCURRENT version"
    );
    let s = state(MemoryStore::with_current("v1", stored()));
    let err = step(&s, Step::Test).unwrap_err();
    assert_eq!(
        format!("{err}"),
        "secret test_secret has no AWSPENDING version"
    );
}

#[test]
fn a_secret_of_the_wrong_shape_is_an_error_that_does_not_quote_it() {
    let s = state(MemoryStore::with_current(
        "v1",
        json!({"username": "app", "password": 1234567}),
    ));
    let err = format!("{:#}", step(&s, Step::Create).unwrap_err());
    assert!(err.contains("wrong type or value"), "{err}");
    assert!(!err.contains("1234567"), "{err}");
    let s = state(MemoryStore::with_current("v1", json!({"username": "app"})));
    let err = format!("{:#}", step(&s, Step::Create).unwrap_err());
    assert!(err.contains("missing field `password`"), "{err}");
}

#[test]
fn the_seed_events_deserialise() {
    let seed = json!([
        {"ClientRequestToken": TOKEN, "SecretId": ID, "Step": "createSecret"},
        {"ClientRequestToken": TOKEN, "SecretId": ID, "Step": "setSecret"},
        {"ClientRequestToken": TOKEN, "SecretId": ID, "Step": "testSecret"},
        {"ClientRequestToken": TOKEN, "SecretId": ID, "Step": "finishSecret"},
    ]);
    let events: Vec<Event> = serde_json::from_value(seed).unwrap();
    let steps: Vec<Step> = events.iter().map(|e| e.step).collect();
    assert_eq!(steps, [Step::Create, Step::Set, Step::Test, Step::Finish]);
    assert_eq!(events[0], Event::new(TOKEN, ID, Step::Create));
    let bad = json!({"ClientRequestToken": TOKEN, "SecretId": ID, "Step": "rotate"});
    assert!(serde_json::from_value::<Event>(bad).is_err());
}

#[test]
fn a_container_round_trips_every_field() {
    let c: SecretContainer<Login> = SecretContainer::from_json(&stored().to_string()).unwrap();
    assert_eq!(c.username, "app");
    // Sorted: with serde_json's `preserve_order` (enabled elsewhere in the workspace) the map
    // keeps the document's order instead.
    let mut keys: Vec<_> = c.other.keys().collect();
    keys.sort();
    assert_eq!(keys, ["host", "options", "port"]);
    let back: serde_json::Value = serde_json::from_str(&c.to_json().unwrap()).unwrap();
    assert_eq!(back, stored());
}

#[test]
fn debug_never_shows_secret_values() {
    let mut c: SecretContainer<Login> = SecretContainer::from_json(&stored().to_string()).unwrap();
    c.password = "hunter2".into();
    c.other.insert("token".into(), json!("tok-secret"));
    let shown = format!("{c:?} {:?}", SecretVersion::new("v1", c.to_json().unwrap()));
    for secret in ["hunter2", "tok-secret", "db.internal", "5432"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        shown.contains("\"host\"") && shown.contains("v1"),
        "{shown}"
    );
    let s = state(MemoryStore::with_current("v1", stored()));
    assert!(!format!("{s:?}").contains("old"));
}
