//! What the measuring binaries of `lambda-bench` share.

use std::path::Path;
use std::process::Command;

/// Builds `bins` of `package` with the profile whose output directory is `profile_dir` (the
/// directory the calling program runs from, so that they land beside it), saying so on stderr
/// as `tool`.
pub fn build_beside(
    tool: &str,
    profile_dir: &Path,
    package: &str,
    bins: &[&str],
) -> std::io::Result<()> {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let mut args = vec!["build", "-q", "--profile", profile, "-p", package];
    for bin in bins {
        args.extend(["--bin", bin]);
    }
    eprintln!("{tool}: cargo {}", args.join(" "));
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "building {} failed: {status}",
            bins.join(", ")
        )));
    }
    Ok(())
}
