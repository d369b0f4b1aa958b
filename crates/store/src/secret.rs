//! The session secret the embedded default keeps in `DATA_DIR` when `SESSION_SECRET` is unset:
//! made once (256 random bits, hex), readable by the owner only, so a restart keeps every
//! session's cookie valid.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// The file's name inside `DATA_DIR`.
pub const SECRET_FILE: &str = "session-secret";
/// Shorter than this is refused (it would be a weak key).
const MIN_BYTES: usize = 32;

/// Where the secret came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Made now and written to this file.
    Created(PathBuf),
    /// Read from this file, made by an earlier start.
    Kept(PathBuf),
}

/// Reads `DATA_DIR/session-secret`, or makes it (mode 0600) when it does not exist.
pub fn load_or_create(data_dir: &Path) -> std::io::Result<(SecretString, Origin)> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim();
            if secret.len() < MIN_BYTES {
                return Err(std::io::Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "{} holds {} bytes; a session secret needs at least {MIN_BYTES} (delete the file to make a new one, which ends every session)",
                        path.display(),
                        secret.len()
                    ),
                ));
            }
            let mode = std::fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the session secret file is readable by others; chmod 600 it"
                );
            }
            Ok((SecretString::from(secret.to_owned()), Origin::Kept(path)))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let secret: String = rand::random::<[u8; 32]>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            // create_new: two processes starting at once cannot both write one.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all(secret.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            Ok((SecretString::from(secret), Origin::Created(path)))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn made_once_owner_only_then_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let (first, origin) = load_or_create(&data).expect("made");
        assert_eq!(origin, Origin::Created(data.join(SECRET_FILE)));
        assert_eq!(first.expose_secret().len(), 64);
        let mode = std::fs::metadata(data.join(SECRET_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let (again, origin) = load_or_create(&data).expect("read");
        assert_eq!(origin, Origin::Kept(data.join(SECRET_FILE)));
        assert_eq!(again.expose_secret(), first.expose_secret());
    }

    #[test]
    fn a_truncated_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(SECRET_FILE), "short\n").expect("write");
        let err = load_or_create(dir.path()).expect_err("too short");
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
}
