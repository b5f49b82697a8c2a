//! The configuration file, `config.toml` in the data directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// File name of the configuration inside the data directory.
pub(crate) const CONFIG_FILE: &str = "config.toml";

/// What `config.toml` holds. Every field has a default, so a partial file is fine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// Name shown to contacts in the contact code (may be empty).
    pub(crate) display_name: String,
    /// libp2p multiaddresses to listen on.
    pub(crate) listen: Vec<String>,
    /// Peers to connect to at start (multiaddresses ending in `/p2p/<peer id>`).
    pub(crate) bootstrap: Vec<String>,
    /// Peers to query for missed messages (store v3), multiaddresses with `/p2p/`.
    pub(crate) store_peers: Vec<String>,
    /// Whether this node keeps messages for others (serves store v3).
    pub(crate) serve_store: bool,
    /// Waku cluster id (static sharding).
    pub(crate) cluster: u16,
    /// Shard of the cluster carrying the chat.
    pub(crate) shard: u16,
    /// Log filter for the log file (`error`, `warn`, `info`, `debug`, `trace`, or
    /// a tracing filter such as `status=debug,info`).
    pub(crate) log: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            display_name: String::new(),
            listen: vec!["/ip4/0.0.0.0/tcp/0".to_owned()],
            bootstrap: Vec::new(),
            store_peers: Vec::new(),
            serve_store: true,
            cluster: 16,
            shard: 32,
            log: "info".to_owned(),
        }
    }
}

pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONFIG_FILE)
}

impl Config {
    /// Reads `config.toml` from the data directory; the defaults if there is none.
    pub(crate) fn load(data_dir: &Path) -> Result<Config, CliError> {
        let path = path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(CliError::Io { path, source }),
        };
        toml::from_str(&text).map_err(|e| CliError::Config {
            path,
            message: e.message().to_owned(),
        })
    }

    /// Writes `config.toml` into the data directory with a header comment.
    pub(crate) fn save(&self, data_dir: &Path) -> Result<(), CliError> {
        let path = path(data_dir);
        let body = toml::to_string(self).map_err(|e| CliError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let text = format!(
            "# status-chat configuration. Every field is optional; see `status-chat --help`.\n{body}"
        );
        std::fs::write(&path, text).map_err(|source| CliError::Io { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), Config::default());
        let config = Config {
            display_name: "Alice".into(),
            bootstrap: vec!["/ip4/127.0.0.1/tcp/1".into()],
            ..Config::default()
        };
        config.save(dir.path()).unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), config);
        std::fs::write(path(dir.path()), "shard = 7\n").unwrap();
        assert_eq!(Config::load(dir.path()).unwrap().shard, 7);
        std::fs::write(path(dir.path()), "shrad = 7\n").unwrap();
        let err = Config::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("shrad"), "{err}");
    }
}
