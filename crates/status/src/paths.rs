//! Where an account lives on disk by default, following each platform's conventions.
//!
//! | platform | default data directory |
//! |---|---|
//! | Linux and other Unix | `$XDG_DATA_HOME/status-chat`, else `$HOME/.local/share/status-chat` |
//! | macOS | `$HOME/Library/Application Support/status-chat` |
//! | Windows | `%APPDATA%\status-chat` |
//!
//! A data directory holds one account: `status.db` (the encrypted database), its WAL
//! and lock files, `config.toml` and `logs/`.

use std::ffi::OsString;
use std::path::PathBuf;

/// Name of the application directory inside the platform's data directory.
pub const APP_DIR: &str = "status-chat";

/// The default data directory on this platform, or `None` if the environment does not
/// say where the home directory is.
pub fn default_data_dir() -> Option<PathBuf> {
    default_data_dir_from(|name| std::env::var_os(name))
}

/// [`default_data_dir`] with the environment given as a function (for tests).
pub fn default_data_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        non_empty("APPDATA")?
    } else if cfg!(target_os = "macos") {
        non_empty("HOME")?
            .join("Library")
            .join("Application Support")
    } else {
        // XDG: only an absolute XDG_DATA_HOME counts.
        match non_empty("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
            Some(xdg) => xdg,
            None => non_empty("HOME")?.join(".local").join("share"),
        }
    };
    Some(base.join(APP_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn xdg_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            default_data_dir_from(env(&[("HOME", "/home/a"), ("XDG_DATA_HOME", "/data")])),
            Some(PathBuf::from("/data/status-chat"))
        );
        assert_eq!(
            default_data_dir_from(env(&[("HOME", "/home/a"), ("XDG_DATA_HOME", "rel")])),
            Some(PathBuf::from("/home/a/.local/share/status-chat"))
        );
        assert_eq!(
            default_data_dir_from(env(&[("HOME", "/home/a"), ("XDG_DATA_HOME", "")])),
            Some(PathBuf::from("/home/a/.local/share/status-chat"))
        );
        assert_eq!(default_data_dir_from(env(&[])), None);
    }
}
