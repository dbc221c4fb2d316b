//! [`AwsSecretStore`]: a [`SecretStore`] on the official AWS SDK (`aws-sdk-secretsmanager`).
//!
//! Available with feature `aws-sdk-secretsmanager`.
//!
//! ```no_run
//! # async fn f() {
//! use lambda_runtime_types::rotate::aws::AwsSecretStore;
//! // In Lambda: credentials and region from the environment. Outside, `AWS_ENDPOINT_URL` or
//! // `AWS_ENDPOINT_URL_SECRETS_MANAGER` point it at another server.
//! let store = AwsSecretStore::from_env("eu-central-1").await;
//! // Or at an explicit endpoint, e.g. a local emulator:
//! let store = AwsSecretStore::with_endpoint("eu-central-1", "http://127.0.0.1:5000").await;
//! # }
//! ```

use alloc::string::{String, ToString};
use core::fmt;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use super::{PasswordPolicy, SecretStore, SecretVersion, Stage};

/// A [`SecretStore`] that calls Secrets Manager through the AWS SDK.
///
/// Throttled and failed requests are retried by the SDK's standard retry policy.
#[derive(Clone)]
pub struct AwsSecretStore {
    client: Client,
}

impl AwsSecretStore {
    /// A store configured the way the AWS SDK configures itself: credentials, region and
    /// endpoint from the environment (in Lambda: the function's role and region). A non-empty
    /// `region` overrides the environment's region. The SDK's standard variables
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL` change the endpoint.
    pub async fn from_env(region: &str) -> Self {
        Self::from_config(&load(region).await)
    }

    /// Like [`from_env`](Self::from_env), but talking to `endpoint_url` (e.g. a local
    /// Secrets Manager emulator, `http://127.0.0.1:5000`).
    pub async fn with_endpoint(region: &str, endpoint_url: &str) -> Self {
        let config = aws_sdk_secretsmanager::config::Builder::from(&load(region).await)
            .endpoint_url(endpoint_url)
            .build();
        Self::from_client(Client::from_conf(config))
    }

    /// A store with a client made from `config`.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::from_client(Client::new(config))
    }

    /// A store that uses `client`.
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }

    /// The SDK client, for calls the store does not make.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

async fn load(region: &str) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let loader = match region {
        "" => loader,
        region => loader.region(Region::new(region.to_string())),
    };
    loader.load().await
}

impl fmt::Debug for AwsSecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSecretStore").finish_non_exhaustive()
    }
}

impl SecretStore for AwsSecretStore {
    /// `GetSecretValue` by stage. Secrets Manager answers a missing secret and a missing stage
    /// alike (`ResourceNotFoundException`), so both are `None`.
    async fn value(&self, secret_id: &str, stage: Stage) -> anyhow::Result<Option<SecretVersion>> {
        let out = match self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage.as_str())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => {
                anyhow::bail!(
                    "GetSecretValue of {secret_id} ({stage}): {}",
                    DisplayErrorContext(&e)
                )
            }
        };
        let version_id = out.version_id().unwrap_or_default().to_string();
        let value = match (out.secret_string(), out.secret_binary()) {
            (Some(text), _) => text.to_string(),
            (None, Some(bytes)) => String::from_utf8(bytes.as_ref().to_vec()).map_err(|_| {
                anyhow::anyhow!("the {stage} SecretBinary of {secret_id} is not UTF-8")
            })?,
            (None, None) => anyhow::bail!("the {stage} version of {secret_id} has no value"),
        };
        Ok(Some(SecretVersion::new(version_id, value)))
    }

    /// `PutSecretValue` with `ClientRequestToken` = `token` and stage `AWSPENDING`.
    async fn put_pending(&self, secret_id: &str, token: &str, value: &str) -> anyhow::Result<()> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value)
            .version_stages(Stage::Pending.as_str())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("PutSecretValue of {secret_id}: {}", DisplayErrorContext(&e))
            })?;
        Ok(())
    }

    /// `UpdateSecretVersionStage`.
    async fn move_stage(
        &self,
        secret_id: &str,
        stage: Stage,
        to_version: &str,
        from_version: &str,
    ) -> anyhow::Result<()> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage.as_str())
            .move_to_version_id(to_version)
            .remove_from_version_id(from_version)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "UpdateSecretVersionStage of {secret_id} ({stage} to {to_version}): {}",
                    DisplayErrorContext(&e)
                )
            })?;
        Ok(())
    }

    /// `GetRandomPassword`.
    async fn generate_password(&self, policy: &PasswordPolicy) -> anyhow::Result<String> {
        let mut request = self
            .client
            .get_random_password()
            .set_password_length(policy.length.map(i64::from))
            .exclude_punctuation(policy.exclude_punctuation);
        if !policy.exclude_characters.is_empty() {
            request = request.exclude_characters(policy.exclude_characters.as_ref());
        }
        let out = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("GetRandomPassword: {}", DisplayErrorContext(&e)))?;
        out.random_password()
            .map(ToString::to_string)
            .ok_or_else(|| anyhow::anyhow!("GetRandomPassword returned no password"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_shows_no_configuration() {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .build();
        let store = AwsSecretStore::from_client(Client::from_conf(config));
        assert_eq!(format!("{store:?}"), "AwsSecretStore { .. }");
    }
}
