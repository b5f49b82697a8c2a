//! Where the passphrase comes from: `--passphrase-file`, then `STATUS_CHAT_PASSPHRASE`,
//! then a prompt on the terminal (never echoed).

use std::io::IsTerminal as _;
use std::path::Path;

use status::store::Passphrase;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Environment variable holding the passphrase (for scripts and tests).
pub(crate) const PASSPHRASE_ENV: &str = "STATUS_CHAT_PASSPHRASE";

/// The passphrase; with `confirm`, a prompt asks twice (account creation).
pub(crate) fn obtain(file: Option<&Path>, confirm: bool) -> Result<Passphrase, CliError> {
    let pass = if let Some(file) = file {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(file).map_err(|source| CliError::Io {
                    path: file.to_path_buf(),
                    source,
                })?,
            );
        let line = text.lines().next().unwrap_or_default();
        Passphrase::new(line.as_bytes().to_vec())
    } else if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        let value = Zeroizing::new(value.into_encoded_bytes());
        Passphrase::new(value.to_vec())
    } else if std::io::stdin().is_terminal() {
        let first =
            Zeroizing::new(rpassword::prompt_password("Passphrase: ").map_err(CliError::Terminal)?);
        if confirm {
            let second = Zeroizing::new(
                rpassword::prompt_password("Repeat the passphrase: ")
                    .map_err(CliError::Terminal)?,
            );
            if *first != *second {
                return Err(CliError::PassphraseMismatch);
            }
        }
        Passphrase::new(first.as_bytes().to_vec())
    } else {
        return Err(CliError::NoPassphrase);
    };
    if pass.is_empty() {
        return Err(CliError::EmptyPassphrase);
    }
    Ok(pass)
}
