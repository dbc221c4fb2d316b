//! Running an extension from `main`: the endpoint from the environment, the name from the
//! executable, then [`ExtensionDriver::run`].

use std::path::Path;

use super::{Executor, Extension, ExtensionDriver, Stopped};
use crate::extension::{ExitReason, ExtensionName, Options};
use crate::wire::Endpoint;

impl Stopped {
    /// Why the extension stopped.
    pub const fn reason(self) -> ExitReason {
        match self {
            Self::Exit(reason) | Self::GaveUp(reason) => reason,
        }
    }

    /// The process exit code an extension's `main` should end with ([`ExitReason::code`]):
    /// 0 after a SHUTDOWN, non-zero for every failure.
    pub const fn code(self) -> i32 {
        self.reason().code()
    }
}

/// The name an external extension must register with: the file name it was started as
/// (Lambda starts each file of `/opt/extensions` and matches the `Lambda-Extension-Name` with
/// it). Read from `argv[0]`, so a symbolic link keeps its own name; from the executable's path
/// when `argv[0]` has none.
pub fn executable_name() -> anyhow::Result<ExtensionName> {
    let from_argv = std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|n| n.to_os_string()));
    let name = match from_argv {
        Some(name) => name,
        None => std::env::current_exe()?
            .file_name()
            .map(|n| n.to_os_string())
            .ok_or_else(|| anyhow::anyhow!("the executable's path has no file name"))?,
    };
    let name = name
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the executable's file name {name:?} is not UTF-8"))?;
    name_of(name)
}

/// Runs one extension until it stops: reads `AWS_LAMBDA_RUNTIME_API`, registers as `name`
/// (`None`: the [`executable_name`], which is what Lambda requires of an external extension)
/// with `options`, and carries out `steps` as Lambda asks ([`ExtensionDriver::run`]).
///
/// `Err` only when it cannot start: the variable is missing or invalid, the name is not a
/// valid one, or Lambda would refuse `options` ([`ConfigError`](crate::extension::ConfigError)).
/// Otherwise it returns how it [`Stopped`]; end the process with [`Stopped::code`].
///
/// An external extension's `main`, on any [`Executor`] (an adapter's, or your own):
///
/// ```no_run
/// use lambda_runtime_types::driver::{Executor, Extension, run_extension};
/// use lambda_runtime_types::extension::{InvokeEvent, Options, ShutdownEvent};
///
/// struct Printer;
///
/// impl Extension for Printer {
///     async fn invoke(&mut self, event: &InvokeEvent) -> anyhow::Result<()> {
///         println!("extension: INVOKE {}", event.request_id);
///         Ok(())
///     }
///     async fn shutdown(&mut self, event: &ShutdownEvent) -> anyhow::Result<()> {
///         println!("extension: SHUTDOWN {}", event.shutdown_reason);
///         Ok(())
///     }
/// }
///
/// /// What `main` runs, inside `block_on` of the executor `exec`.
/// async fn extension_main(exec: &impl Executor) -> i32 {
///     match run_extension(exec, None, Options::external(), &mut Printer).await {
///         Ok(stopped) => stopped.code(),
///         Err(e) => {
///             eprintln!("extension: {e:#}");
///             1
///         }
///     }
/// }
/// ```
pub async fn run_extension<E: Executor>(
    exec: &E,
    name: Option<&str>,
    options: Options,
    steps: &mut impl Extension,
) -> anyhow::Result<Stopped> {
    let name = match name {
        Some(name) => name_of(name)?,
        None => executable_name()?,
    };
    let mut driver = ExtensionDriver::from_env(exec, name, options)?;
    Ok(driver.run(steps).await)
}

fn name_of(name: &str) -> anyhow::Result<ExtensionName> {
    ExtensionName::new(name).map_err(|e| anyhow::anyhow!("extension name {name:?}: {e}"))
}

impl<'e, E: Executor> ExtensionDriver<'e, E> {
    /// [`ExtensionDriver::new`] at the endpoint in `AWS_LAMBDA_RUNTIME_API`.
    ///
    /// For an internal extension: build it, [`register`](Self::register) it before the
    /// runtime's entry point is called (registration closes at the runtime's first `/next`),
    /// then [`run`](Self::run) it beside the function (`examples/src/bin/internal-extension.rs`).
    pub fn from_env(exec: &'e E, name: ExtensionName, options: Options) -> anyhow::Result<Self> {
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
            anyhow::anyhow!(
                "AWS_LAMBDA_RUNTIME_API is not set: an extension is started by Lambda (or \
                 `lambda-emulator`)"
            )
        })?;
        let endpoint = Endpoint::parse(&api)
            .map_err(|e| anyhow::anyhow!("AWS_LAMBDA_RUNTIME_API is invalid: {e}"))?;
        Self::new(exec, endpoint, name, options)
            .map_err(|e| anyhow::anyhow!("extension options: {e}"))
    }
}
