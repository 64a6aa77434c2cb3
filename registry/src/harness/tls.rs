//! A throwaway certificate authority for TLS tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// A throwaway certificate authority for TLS tests, made with the `openssl` command (Debian's
/// `openssl` package): `ca.pem` and `ca.key` in a directory, and certificates it issues there.
pub struct TestCa {
    dir: PathBuf,
}

impl TestCa {
    /// Creates the CA (`ca.pem`, `ca.key`) in `dir`.
    pub fn new(dir: &Path) -> Result<Self> {
        let ca = TestCa {
            dir: dir.to_path_buf(),
        };
        ca.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=herald-test-ca",
        ])?;
        Ok(ca)
    }

    /// Issues `{name}.pem` and `{name}.key` for `subject` (such as `/CN=127.0.0.1`) with
    /// OpenSSL extension lines (such as `subjectAltName=IP:127.0.0.1` and
    /// `extendedKeyUsage=serverAuth`).
    pub fn issue(&self, name: &str, subject: &str, extensions: &str) -> Result<()> {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(self.dir.join(&ext), extensions)
            .map_err(|e| Error::Config(format!("cannot write {ext}: {e}")))?;
        self.openssl(&[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        ])?;
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ])
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The certificate issued as `name`.
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    /// The private key issued as `name`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    fn openssl(&self, args: &[&str]) -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| {
                Error::Config(format!(
                    "cannot run openssl ({e}); install Debian's openssl"
                ))
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }
}
