//! A Secrets Manager rotation function (the seed's `rotate` module): the core runs the
//! four-step protocol; this file only knows the service whose password is rotated. It is the one
//! example that needs the AWS SDK, so it is a package of its own (`examples-rotate`): building
//! the other examples does not build the SDK.
//!
//! The secret is a JSON object with at least `username` and `password`; its other fields (host,
//! port, ...) are kept as they are. The service here is a stand-in held in memory: replace
//! `set` and `test` with a real login to your database or API.
//!
//! Run it locally against moto_server (see the README's "Secret rotation" section):
//!
//! ```sh
//! AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!   cargo run -p lambda-emulator -- --event examples/events/rotate.jsonl -- \
//!   cargo run -q -p examples-rotate
//! ```

use std::sync::Mutex;

use lambda_runtime_types::rotate::aws::AwsSecretStore;
use lambda_runtime_types::rotate::{
    PasswordPolicy, Rotate, RotateRunner, SecretContainer, SecretStore,
};

/// The fields the rotation needs; any other fields of the stored secret are kept.
#[derive(serde::Serialize, serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// Stands in for a database: the password it accepts, once `set` has changed it.
#[derive(Default)]
struct Service {
    accepts: Mutex<Option<String>>,
}

struct Rotation;

impl<'a> RotateRunner<'a, Service, Login> for Rotation {
    type Store = AwsSecretStore;

    async fn setup(_region: &'a str) -> anyhow::Result<Service> {
        Ok(Service::default())
    }

    async fn store(region: &'a str) -> anyhow::Result<AwsSecretStore> {
        // The function's role and region in Lambda; AWS_ENDPOINT_URL(_SECRETS_MANAGER) and the
        // AWS_* credential variables locally. Without either there is nothing to talk to: say so
        // in one line instead of the SDK's credential-chain error for every step.
        secrets_manager_reachable(|name| std::env::var_os(name))?;
        Ok(AwsSecretStore::from_env(region).await)
    }

    async fn create(
        _service: &'a Service,
        mut secret_cur: SecretContainer<Login>,
        store: &AwsSecretStore,
    ) -> anyhow::Result<SecretContainer<Login>> {
        secret_cur.password = store.generate_password(&PasswordPolicy::new()).await?;
        Ok(secret_cur)
    }

    async fn set(
        service: &'a Service,
        secret_cur: SecretContainer<Login>,
        secret_new: SecretContainer<Login>,
    ) -> anyhow::Result<()> {
        // A real function logs in as `secret_cur` and changes the password to `secret_new`'s.
        eprintln!("changing the password of {}", secret_cur.username);
        *service.accepts.lock().unwrap() = Some(secret_new.data.password);
        Ok(())
    }

    async fn test(service: &'a Service, secret_new: SecretContainer<Login>) -> anyhow::Result<()> {
        // A real function logs in as `secret_new`.
        let accepted = service.accepts.lock().unwrap();
        anyhow::ensure!(
            accepted.as_deref() == Some(secret_new.password.as_str()),
            "the service rejects the new password of {}",
            secret_new.username
        );
        Ok(())
    }
}

/// Whether the environment (`var`) names a Secrets Manager: an endpoint, or credentials as
/// Lambda gives them to the function's role.
fn secrets_manager_reachable(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> anyhow::Result<()> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let endpoint = set("AWS_ENDPOINT_URL") || set("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    anyhow::ensure!(
        endpoint || set("AWS_ACCESS_KEY_ID"),
        "no Secrets Manager to rotate against: run on Lambda, or set AWS_ENDPOINT_URL (e.g. \
         moto_server) and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    );
    Ok(())
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Rotate<Rotation>, _>()
}

#[cfg(test)]
mod tests {
    use super::secrets_manager_reachable;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn without_an_endpoint_or_credentials_it_says_so_in_one_line() {
        let err = secrets_manager_reachable(env(&[("AWS_ENDPOINT_URL", "")])).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("no Secrets Manager to rotate against"),
            "{message}"
        );
        assert!(!message.contains('\n'));
        for vars in [
            [("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")],
            [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000")],
            [("AWS_ACCESS_KEY_ID", "ASIA…")],
        ] {
            assert!(secrets_manager_reachable(env(&vars)).is_ok(), "{vars:?}");
        }
    }
}
