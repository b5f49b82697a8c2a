//! Errors of the program: each one a sentence for the user.

use std::path::PathBuf;

use status::account::AccountError;
use status::store::OpenError;

/// Everything that can go wrong, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error("there is no account in {0}; create one with `status-chat init`")]
    NoAccount(PathBuf),
    #[error("{0} already holds an account; use another --data-dir")]
    AccountExists(PathBuf),
    #[error("the passphrase is wrong")]
    WrongPassphrase,
    #[error("another status-chat is using the account in {0}; stop it first")]
    AccountInUse(PathBuf),
    #[error(
        "no passphrase given: set STATUS_CHAT_PASSPHRASE, pass --passphrase-file FILE, or run in a terminal to be asked"
    )]
    NoPassphrase,
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    #[error("the two passphrases differ")]
    PassphraseMismatch,
    #[error("no recovery phrase given")]
    NoRecoveryPhrase,
    #[error("cannot work out a data directory (HOME is not set); pass --data-dir DIR")]
    NoDataDir,
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the terminal: {0}")]
    Terminal(std::io::Error),
    #[error("{0}")]
    Account(AccountError),
    #[error("{0}")]
    Other(String),
}

impl From<AccountError> for CliError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NoAccount(dir) => CliError::NoAccount(dir),
            AccountError::AlreadyExists(dir) => CliError::AccountExists(dir),
            AccountError::Open(OpenError::WrongPassphrase) => CliError::WrongPassphrase,
            AccountError::Open(OpenError::EmptyPassphrase) => CliError::EmptyPassphrase,
            AccountError::Open(OpenError::Locked(path)) => {
                CliError::AccountInUse(path.parent().map(PathBuf::from).unwrap_or(path))
            }
            other => CliError::Account(other),
        }
    }
}
