//! Replacing a destination file atomically, and only when its bytes change: the new content
//! goes to a temporary file in the same directory (same file system), with the old file's
//! mode, is checked there, and is renamed over the old file. Readers see the old file or the
//! new one, never a partial one; a refused or failed file is removed and the old one stays.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::TemplateError;
use super::hook::Hook;

/// The mode of a destination that does not exist yet.
const NEW_FILE_MODE: u32 = 0o644;

/// What [`install`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The destination already held these bytes: nothing was written or checked.
    Unchanged,
    /// The destination now holds the new bytes.
    Replaced,
}

/// Puts `bytes` at `dest` unless it holds them already; `check` (if any) runs on the new
/// file before it replaces the old one.
pub async fn install(
    dest: &Path,
    bytes: &[u8],
    check: Option<&Hook>,
) -> Result<Installed, TemplateError> {
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TemplateError::Write { path, source }
    };
    let mode = match std::fs::read(dest) {
        Ok(old) if old == bytes => return Ok(Installed::Unchanged),
        Ok(_) => std::fs::metadata(dest)
            .map_err(write_error(dest))?
            .permissions()
            .mode(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => NEW_FILE_MODE,
        Err(e) => return Err(write_error(dest)(e)),
    };
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut staged = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".herald")
        .tempfile_in(dir)
        .map_err(write_error(dir))?;
    let staged_path = staged.path().to_path_buf();
    staged
        .write_all(bytes)
        .and_then(|()| {
            staged
                .as_file()
                .set_permissions(Permissions::from_mode(mode))
        })
        .and_then(|()| staged.as_file().sync_all())
        .map_err(write_error(&staged_path))?;
    if let Some(check) = check {
        check
            .check(&staged_path)
            .await
            .map_err(|reason| TemplateError::Check {
                dest: dest.to_path_buf(),
                reason,
            })?;
    }
    staged
        .persist(dest)
        .map_err(|e| write_error(dest)(e.error))?;
    // The rename is durable once the directory is synced; a failure here changes nothing
    // readers see.
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), error = %e, "cannot sync the directory");
    }
    Ok(Installed::Replaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn replaces_only_changed_bytes_keeps_the_mode_and_honours_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.cfg");
        assert_eq!(
            install(&dest, b"one\n", None).await.unwrap(),
            Installed::Replaced
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest), NEW_FILE_MODE);
        std::fs::set_permissions(&dest, Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            install(&dest, b"one\n", None).await.unwrap(),
            Installed::Unchanged
        );

        let refuse = Hook::new("! grep -q bad {}", Duration::from_secs(10));
        let err = install(&dest, b"bad\n", Some(&refuse)).await.unwrap_err();
        assert!(matches!(err, TemplateError::Check { .. }), "{err}");
        assert_eq!(std::fs::read(&dest).unwrap(), b"one\n");
        assert_eq!(
            entries(dir.path()),
            ["out.cfg"],
            "the refused file is removed"
        );

        assert_eq!(
            install(&dest, b"two\n", Some(&refuse)).await.unwrap(),
            Installed::Replaced
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"two\n");
        assert_eq!(mode(&dest), 0o640);
        assert_eq!(entries(dir.path()), ["out.cfg"]);
    }

    #[tokio::test]
    async fn an_unwritable_directory_is_a_write_error() {
        let err = install(Path::new("/nonexistent-dir/out.cfg"), b"x", None)
            .await
            .unwrap_err();
        assert_eq!(err.outcome(), "write_failed", "{err}");
    }
}
