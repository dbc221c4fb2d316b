//! [`SecretStore`]: what the rotation protocol needs from Secrets Manager.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

/// What the rotation protocol needs from Secrets Manager: four calls, so the protocol can be
/// tested against an in-memory store and run against the real service (with feature
/// `aws-sdk-secretsmanager`, `rotate::aws::AwsSecretStore`).
///
/// `secret_id` is what the rotation event names: the secret's ARN or name.
#[allow(async_fn_in_trait)] // The runtime never requires `Send` futures.
pub trait SecretStore {
    /// The version of the secret that has `stage`, or `None` if no version has it.
    ///
    /// A missing secret is an error, not `None`.
    async fn value(&self, secret_id: &str, stage: Stage) -> anyhow::Result<Option<SecretVersion>>;

    /// Stores `value` as a new version with id `token` (the event's `ClientRequestToken`) and
    /// stage [`Stage::Pending`] (`PutSecretValue`). Storing the same value under the same token
    /// again must succeed without a new version, as Secrets Manager does.
    async fn put_pending(&self, secret_id: &str, token: &str, value: &str) -> anyhow::Result<()>;

    /// Moves `stage` from version `from_version` to version `to_version`
    /// (`UpdateSecretVersionStage`).
    async fn move_stage(
        &self,
        secret_id: &str,
        stage: Stage,
        to_version: &str,
        from_version: &str,
    ) -> anyhow::Result<()>;

    /// A new random password (`GetRandomPassword`).
    async fn generate_password(&self, policy: &PasswordPolicy) -> anyhow::Result<String>;
}

/// A staging label of a secret version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// `AWSCURRENT`: the version clients read.
    Current,
    /// `AWSPENDING`: the version a rotation is bringing into service.
    Pending,
}

impl Stage {
    /// The label as Secrets Manager spells it: `AWSCURRENT`, `AWSPENDING`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Current => "AWSCURRENT",
            Self::Pending => "AWSPENDING",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of a secret: its id and its value (a JSON text). `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretVersion {
    /// The version id (for a version a rotation created: the `ClientRequestToken`).
    pub version_id: String,
    /// The secret value, as stored (`SecretString`, or `SecretBinary` as UTF-8).
    pub value: String,
}

impl SecretVersion {
    /// A version with the given id and value.
    pub fn new(version_id: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            version_id: version_id.into(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for SecretVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVersion")
            .field("version_id", &self.version_id)
            .field("value", &format_args!("<redacted>"))
            .finish()
    }
}

/// What [`SecretStore::generate_password`] should generate (the parameters of
/// `GetRandomPassword`).
///
/// The default is the service's default length (32) without `"` and `\`, which would need
/// escaping wherever the password is pasted into a connection string or a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// The length; `None` for the service's default (32).
    pub length: Option<u32>,
    /// Characters the password must not contain.
    pub exclude_characters: Cow<'static, str>,
    /// Whether to leave out punctuation.
    pub exclude_punctuation: bool,
}

impl PasswordPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the length.
    #[must_use]
    pub fn length(mut self, length: u32) -> Self {
        self.length = Some(length);
        self
    }

    /// Sets the characters the password must not contain.
    #[must_use]
    pub fn exclude_characters(mut self, characters: impl Into<Cow<'static, str>>) -> Self {
        self.exclude_characters = characters.into();
        self
    }

    /// Leaves out punctuation (or not).
    #[must_use]
    pub fn exclude_punctuation(mut self, exclude: bool) -> Self {
        self.exclude_punctuation = exclude;
        self
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            length: None,
            exclude_characters: Cow::Borrowed("\"\\"),
            exclude_punctuation: false,
        }
    }
}
