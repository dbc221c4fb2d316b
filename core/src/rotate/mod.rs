//! Secrets Manager rotation functions.
//!
//! Secrets Manager rotates a secret by invoking a Lambda function four times with the same
//! [`Event`], one per [`Step`]. This module runs that protocol; you write a [`RotateRunner`]
//! that knows the service the secret is for (a database, an API), and wrap it in [`Rotate`] to
//! get a [`Runner`] for any executor adapter.
//!
//! # The protocol
//!
//! Each step reads the secret through a [`SecretStore`] into a [`SecretContainer`] of your
//! `Secret` type (which keeps the fields `Secret` does not declare) and calls your runner:
//!
//! 1. `createSecret`: if a pending version (stage `AWSPENDING` on a version other than the
//!    `AWSCURRENT` one) exists, nothing happens: a retry, or a rotation that failed later and is
//!    being retried, reuses it. Otherwise [`RotateRunner::create`] makes a new value from the
//!    current one, stored as `AWSPENDING` under the event's `ClientRequestToken`.
//! 2. `setSecret`: [`RotateRunner::test`] is tried with the pending value first; only if it
//!    fails is [`RotateRunner::set`] called to change the password in the service. After a
//!    failure in a later step the whole rotation is retried, and `set` with the old password
//!    would fail because the service already has the new one.
//! 3. `testSecret`: [`RotateRunner::test`] with the pending value; an error fails the rotation
//!    and `AWSCURRENT` is left alone.
//! 4. `finishSecret`: [`RotateRunner::finish`] (a no-op by default), then `AWSCURRENT` moves
//!    to the pending version. If the event's version is already `AWSCURRENT`, nothing happens.
//!
//! Every step can be re-run (Lambda retries failed invocations) without doing its work twice.
//! Nothing here does I/O: [`SecretStore`] is a trait, implemented for the AWS SDK by
//! `aws::AwsSecretStore` (feature `aws-sdk-secretsmanager`) and by your own type in tests.
//!
//! # Usage
//!
#![cfg_attr(feature = "aws-sdk-secretsmanager", doc = "```no_run")]
#![cfg_attr(not(feature = "aws-sdk-secretsmanager"), doc = "```ignore")]
//! use lambda_runtime_types::rotate::{
//!     aws::AwsSecretStore, PasswordPolicy, RotateRunner, SecretContainer, SecretStore,
//! };
//!
//! /// The fields the rotation needs; any other fields of the stored secret are kept.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Login {
//!     username: String,
//!     password: String,
//! }
//!
//! struct Rotation;
//!
//! impl<'a> RotateRunner<'a, (), Login> for Rotation {
//!     type Store = AwsSecretStore;
//!
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!
//!     async fn store(region: &'a str) -> anyhow::Result<AwsSecretStore> {
//!         // Honours AWS_ENDPOINT_URL(_SECRETS_MANAGER) and the usual credential sources.
//!         Ok(AwsSecretStore::from_env(region).await)
//!     }
//!
//!     async fn create(
//!         _shared: &'a (),
//!         mut secret_cur: SecretContainer<Login>,
//!         store: &AwsSecretStore,
//!     ) -> anyhow::Result<SecretContainer<Login>> {
//!         secret_cur.password = store.generate_password(&PasswordPolicy::new()).await?;
//!         Ok(secret_cur)
//!     }
//!
//!     async fn set(
//!         _shared: &'a (),
//!         _secret_cur: SecretContainer<Login>,
//!         _secret_new: SecretContainer<Login>,
//!     ) -> anyhow::Result<()> {
//!         // Log in with the current password and change it to the new one.
//!         Ok(())
//!     }
//!
//!     async fn test(_shared: &'a (), _secret_new: SecretContainer<Login>) -> anyhow::Result<()> {
//!         // Log in with the new password; an error fails the rotation.
//!         Ok(())
//!     }
//! }
//!
//! // fn main() -> anyhow::Result<()> {
//! //     lambda_runtime_types_tokio::exec_tokio::<_, _, Rotate<Rotation>, _>()
//! // }
//! # fn is_runner<S, R: for<'a> lambda_runtime_types::runner::Runner<'a, S, lambda_runtime_types::rotate::Event, ()>>() {}
//! # is_runner::<_, lambda_runtime_types::rotate::Rotate<Rotation>>();
//! ```

use alloc::string::String;
use core::fmt;
use core::marker::PhantomData;

use anyhow::Context as _;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runner::{LambdaEvent, Runner};

#[cfg(feature = "aws-sdk-secretsmanager")]
pub mod aws;
mod secret;
mod store;

pub use secret::{SecretContainer, redact};
pub use store::{PasswordPolicy, SecretStore, SecretVersion, Stage};

/// The event Secrets Manager sends to a rotation function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// `ClientRequestToken`: the version id of the new secret version.
    #[serde(rename = "ClientRequestToken")]
    pub client_request_token: String,
    /// `SecretId`: the ARN or name of the secret.
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    /// `Step`: which step of the rotation to run.
    #[serde(rename = "Step")]
    pub step: Step,
}

impl Event {
    /// An event for `step` of the rotation of `secret_id` to version `client_request_token`.
    pub fn new(
        client_request_token: impl Into<String>,
        secret_id: impl Into<String>,
        step: Step,
    ) -> Self {
        Self {
            client_request_token: client_request_token.into(),
            secret_id: secret_id.into(),
            step,
        }
    }
}

/// A step of a rotation (see the [module docs](self) for what each one does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// `createSecret`: make the new value and store it as `AWSPENDING`.
    #[serde(rename = "createSecret")]
    Create,
    /// `setSecret`: change the password in the service.
    #[serde(rename = "setSecret")]
    Set,
    /// `testSecret`: check that the new value works.
    #[serde(rename = "testSecret")]
    Test,
    /// `finishSecret`: make the new value `AWSCURRENT`.
    #[serde(rename = "finishSecret")]
    Finish,
}

/// A Secrets Manager rotation function: the part of a rotation that knows the service.
///
/// `Shared` is built once per execution environment by [`setup`](Self::setup), as for a
/// [`Runner`]; `Secret` declares the fields of the stored JSON secret the rotation needs (the
/// others are kept, see [`SecretContainer`]). `Store` is the [`SecretStore`] the protocol talks
/// to, built once by [`store`](Self::store) (with feature `aws-sdk-secretsmanager`:
/// `aws::AwsSecretStore`).
///
/// Wrap it in [`Rotate`] to run it: `exec_tokio::<_, _, Rotate<MyRotation>, _>()`.
#[allow(async_fn_in_trait)] // The runtime never requires `Send` futures.
pub trait RotateRunner<'a, Shared, Secret>
where
    Shared: 'a,
{
    /// Where the secret is read and written.
    type Store: SecretStore;

    /// Runs once per execution environment, before the first invocation; see
    /// [`Runner::setup`].
    async fn setup(region: &'a str) -> anyhow::Result<Shared>;

    /// Builds the store, once per execution environment, after [`setup`](Self::setup).
    async fn store(region: &'a str) -> anyhow::Result<Self::Store>;

    /// Makes a new secret value from the current one (usually: a new password from
    /// [`SecretStore::generate_password`]; keep the rest). Only called when no pending version
    /// exists; the result is stored as `AWSPENDING`.
    async fn create(
        shared: &'a Shared,
        secret_cur: SecretContainer<Secret>,
        store: &Self::Store,
    ) -> anyhow::Result<SecretContainer<Secret>>;

    /// Changes the password in the service from `secret_cur` to `secret_new`. Only called when
    /// [`test`](Self::test) with `secret_new` fails, i.e. the service does not have it yet.
    async fn set(
        shared: &'a Shared,
        secret_cur: SecretContainer<Secret>,
        secret_new: SecretContainer<Secret>,
    ) -> anyhow::Result<()>;

    /// Checks that `secret_new` works in the service (e.g. logs in with it); an error means it
    /// does not.
    async fn test(shared: &'a Shared, secret_new: SecretContainer<Secret>) -> anyhow::Result<()>;

    /// Any work to complete the rotation before `secret_new` becomes `AWSCURRENT` (e.g.
    /// revoking the old credentials). Does nothing by default.
    async fn finish(
        _shared: &'a Shared,
        _secret_cur: SecretContainer<Secret>,
        _secret_new: SecretContainer<Secret>,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Turns a [`RotateRunner`] into a [`Runner`] of rotation [`Event`]s (returning `()`), for any
/// executor adapter: `exec_tokio::<_, _, Rotate<MyRotation>, _>()`.
///
/// Its `setup` runs [`RotateRunner::setup`] and [`RotateRunner::store`]; its `run` runs
/// [`run_step`].
pub struct Rotate<R>(PhantomData<fn() -> R>);

impl<R> fmt::Debug for Rotate<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rotate<{}>", core::any::type_name::<R>())
    }
}

/// The shared data of [`Rotate`]: the rotation's own `Shared` and its store.
pub struct RotateShared<Shared, Secret, Store> {
    shared: Shared,
    store: Store,
    secret: PhantomData<fn() -> Secret>,
}

impl<Shared, Secret, Store> RotateShared<Shared, Secret, Store> {
    /// The shared data of a rotation, e.g. to call [`Runner::run`] of [`Rotate`] in a test.
    pub fn new(shared: Shared, store: Store) -> Self {
        Self {
            shared,
            store,
            secret: PhantomData,
        }
    }

    /// What [`RotateRunner::setup`] built.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl<Shared, Secret, Store> fmt::Debug for RotateShared<Shared, Secret, Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotateShared")
            .field("secret", &core::any::type_name::<Secret>())
            .finish_non_exhaustive()
    }
}

impl<'a, R, Shared, Secret, Store> Runner<'a, RotateShared<Shared, Secret, Store>, Event, ()>
    for Rotate<R>
where
    R: RotateRunner<'a, Shared, Secret, Store = Store>,
    Shared: 'a,
    Secret: Serialize + DeserializeOwned + 'a,
    Store: SecretStore + 'a,
{
    async fn setup(region: &'a str) -> anyhow::Result<RotateShared<Shared, Secret, Store>> {
        let shared = R::setup(region).await?;
        let store = R::store(region)
            .await
            .context("building the secret store")?;
        Ok(RotateShared::new(shared, store))
    }

    async fn run(
        shared: &'a RotateShared<Shared, Secret, Store>,
        event: LambdaEvent<'a, Event>,
    ) -> anyhow::Result<()> {
        run_step::<R, Shared, Secret>(&shared.shared, &shared.store, &event.event).await
    }
}

/// Runs one step of the rotation protocol (see the [module docs](self)) with `R`.
///
/// [`Rotate`] calls this; call it yourself to run a rotation from your own [`Runner`].
pub async fn run_step<'a, R, Shared, Secret>(
    shared: &'a Shared,
    store: &R::Store,
    event: &Event,
) -> anyhow::Result<()>
where
    R: RotateRunner<'a, Shared, Secret>,
    Secret: Serialize + DeserializeOwned,
{
    let id = event.secret_id.as_str();
    let token = event.client_request_token.as_str();
    log::info!("{:?} of secret {id} to version {token}", event.step);
    match event.step {
        Step::Create => {
            let current = required(store, id, Stage::Current).await?;
            if let Some(pending) = store.value(id, Stage::Pending).await? {
                if pending.version_id != current.version_id {
                    log::info!(
                        "{id}: a pending version ({}) exists; reusing it",
                        pending.version_id
                    );
                    return Ok(());
                }
            }
            let secret_new = R::create(shared, parse(&current, id, Stage::Current)?, store)
                .await
                .context("createSecret: the rotation's create failed")?;
            let value = secret_new.to_json()?;
            store
                .put_pending(id, token, &value)
                .await
                .with_context(|| alloc::format!("storing the AWSPENDING version of {id}"))?;
            log::info!("{id}: stored the new value as AWSPENDING version {token}");
        }
        Step::Set => {
            let pending = required(store, id, Stage::Pending).await?;
            if R::test(shared, parse(&pending, id, Stage::Pending)?)
                .await
                .is_ok()
            {
                log::info!("{id}: the service already accepts the pending value; not setting it");
                return Ok(());
            }
            let current = required(store, id, Stage::Current).await?;
            R::set(
                shared,
                parse(&current, id, Stage::Current)?,
                parse(&pending, id, Stage::Pending)?,
            )
            .await
            .context("setSecret: the rotation's set failed")?;
            log::info!("{id}: set the pending value in the service");
        }
        Step::Test => {
            let pending = required(store, id, Stage::Pending).await?;
            R::test(shared, parse(&pending, id, Stage::Pending)?)
                .await
                .context("testSecret: the pending value does not work")?;
            log::info!("{id}: the pending value works");
        }
        Step::Finish => {
            let current = required(store, id, Stage::Current).await?;
            if current.version_id == token {
                log::info!("{id}: version {token} is already AWSCURRENT");
                return Ok(());
            }
            let pending = required(store, id, Stage::Pending).await?;
            if pending.version_id == current.version_id {
                log::info!("{id}: the pending version is already AWSCURRENT");
                return Ok(());
            }
            R::finish(
                shared,
                parse(&current, id, Stage::Current)?,
                parse(&pending, id, Stage::Pending)?,
            )
            .await
            .context("finishSecret: the rotation's finish failed")?;
            store
                .move_stage(id, Stage::Current, &pending.version_id, &current.version_id)
                .await
                .with_context(|| alloc::format!("moving AWSCURRENT of {id}"))?;
            log::info!("{id}: version {} is now AWSCURRENT", pending.version_id);
        }
    }
    Ok(())
}

async fn required<St: SecretStore>(
    store: &St,
    id: &str,
    stage: Stage,
) -> anyhow::Result<SecretVersion> {
    store
        .value(id, stage)
        .await
        .with_context(|| alloc::format!("reading the {stage} version of {id}"))?
        .with_context(|| alloc::format!("secret {id} has no {stage} version"))
}

fn parse<S: DeserializeOwned>(
    version: &SecretVersion,
    id: &str,
    stage: Stage,
) -> anyhow::Result<SecretContainer<S>> {
    SecretContainer::from_json(&version.value).with_context(|| {
        alloc::format!(
            "reading the {stage} version ({}) of {id}",
            version.version_id
        )
    })
}

#[cfg(test)]
mod tests;
