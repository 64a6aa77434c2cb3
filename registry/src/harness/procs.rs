//! Child processes that never outlive their test, and where the workspace's binaries are.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::{Child, Command};

/// A child process, killed (SIGKILL) and reaped when dropped, so that a failing test leaves
/// nothing running. Derefs to the [`Child`].
#[derive(Debug)]
pub struct KillOnDrop(Child);

impl KillOnDrop {
    /// Takes ownership of a running child.
    pub fn new(child: Child) -> Self {
        KillOnDrop(child)
    }

    /// Spawns `command` as it is set up (stdio included).
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        command.spawn().map(KillOnDrop)
    }
}

impl Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The directory of the workspace's binaries (`target/debug`, or wherever
/// `CARGO_TARGET_DIR` and the profile put them), found from the running executable's own
/// path: a test binary lives in its `deps/` subdirectory, any other binary in it.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let dir = exe.parent().expect("an executable lives in a directory");
    if dir.ends_with("deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// A workspace binary from [`bin_dir`]; panics with a hint when it is not built
/// (`cargo test --workspace` and `cargo build --workspace --bins` build them all).
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}
