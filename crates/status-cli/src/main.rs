//! `status-chat`: end-to-end encrypted 1:1 chat over Waku v2.
//!
//! ```text
//! status-chat init                 create an account (shows the recovery phrase once)
//! status-chat init --restore       restore an account from its recovery phrase
//! status-chat whoami               chat key, alias, emoji hash, identicon, QR code
//! ```
//!
//! Global options: `--data-dir DIR` (default: the platform's data directory, see
//! `status::paths`), `--passphrase-file FILE`, `-v` (repeat for more) to log to the
//! terminal. The passphrase comes from `--passphrase-file`, else the environment variable
//! `STATUS_CHAT_PASSPHRASE`, else a prompt on the terminal (for scripts and tests the
//! first two; a prompt never echoes).

mod config;
mod demo;
mod error;
mod logging;
mod oneshot;
mod output;
mod passphrase;
mod run;
mod whoami;

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use status::account::{self, Account, CreateOptions};
use status::identity::WordCount;
use status::store::KdfParams;

use crate::config::Config;
use crate::error::CliError;

/// End-to-end encrypted 1:1 chat over Waku v2, with nothing else to install.
#[derive(Debug, Parser)]
#[command(name = "status-chat", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Directory of the account (database, config.toml, logs). Default: the platform's
    /// data directory, e.g. ~/.local/share/status-chat on Linux.
    #[arg(long, global = true, env = "STATUS_CHAT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE instead of asking (for scripts).
    /// The environment variable STATUS_CHAT_PASSPHRASE works too.
    #[arg(
        long,
        global = true,
        env = "STATUS_CHAT_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    passphrase_file: Option<PathBuf>,
    /// Log to the terminal too (-v info, -vv debug, -vvv trace). The log file in the data
    /// directory always gets the level set in config.toml.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an account: a new identity, with a recovery phrase shown once.
    Init {
        /// Restore an existing identity from its recovery phrase instead (asked for, or
        /// read from standard input when that is not a terminal).
        #[arg(long)]
        restore: bool,
        /// Name shown to your contacts.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Use a 24-word recovery phrase instead of 12 words.
        #[arg(long)]
        long_phrase: bool,
    },
    /// Show who you are: chat key, alias, emoji hash, identicon and contact QR code.
    Whoami {
        /// Also write the contact QR code as a PNG image.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
        /// Also write the contact QR code as an SVG image.
        #[arg(long, value_name = "FILE")]
        qr_svg: Option<PathBuf>,
        /// Do not draw the QR code in the terminal.
        #[arg(long)]
        no_qr: bool,
    },
    /// Play a first contact and a conversation between two accounts on this machine
    /// (temporary directories, two Waku nodes on loopback), printing each step.
    Demo,
    /// Add a contact (by contact code or chat key) and send a contact request.
    Add {
        /// A contact code (`status-rs://contact/…`, what the QR code carries) or a chat key.
        target: String,
        /// The text sent with the request.
        #[arg(long, default_value = "Hi!")]
        intro: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// List contact requests waiting for an answer.
    Requests,
    /// Accept a contact request.
    Accept {
        /// The requester's chat key.
        chat_key: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// List chats.
    Chats,
    /// Send a message to a contact.
    Send {
        /// The contact's chat key.
        chat_key: String,
        /// The text.
        text: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Show a conversation.
    History {
        /// A contact's chat key or a group id.
        chat: String,
        /// Show at most this many of the newest messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Run the node with a line-mode chat on the terminal (type /help).
    Run {
        /// Listen on this address (repeatable; default from config.toml).
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// Connect to this peer at start (repeatable).
        #[arg(long, value_name = "MULTIADDR")]
        peer: Vec<String>,
        /// Ask this peer (which serves store) for missed messages (repeatable).
        #[arg(long, value_name = "MULTIADDR")]
        store_peer: Vec<String>,
    },
}

/// Network options of the one-shot commands.
#[derive(Debug, Args)]
struct NetArgs {
    /// Connect to this peer (repeatable; config.toml's `bootstrap` too).
    #[arg(long, value_name = "MULTIADDR")]
    peer: Vec<String>,
    /// Seconds to wait for the acknowledgement before stopping.
    #[arg(long, default_value_t = 15)]
    wait: u64,
}

/// Environment variable that makes `init` use cheap key-derivation parameters. Tests
/// only: an account made so falls to a dictionary attack in no time.
const INSECURE_TEST_KDF_ENV: &str = "STATUS_CHAT_INSECURE_TEST_KDF";

fn main() -> ExitCode {
    // A bug must still end in a sentence, not a debug dump.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "status-chat: internal error{place}; please report it. Details are in the log file."
        );
        tracing::error!(%info, "panic");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("status-chat: {e}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(global: &Global) -> Result<PathBuf, CliError> {
    match &global.data_dir {
        Some(dir) => Ok(dir.clone()),
        None => status::paths::default_data_dir().ok_or(CliError::NoDataDir),
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let dir = data_dir(&cli.global)?;
    let config = Config::load(&dir)?;
    logging::init(&dir, &config.log, cli.global.verbose);
    tracing::debug!(dir = %dir.display(), "starting");
    match cli.command {
        Command::Init {
            restore,
            name,
            long_phrase,
        } => init(&cli.global, &dir, config, restore, name, long_phrase),
        Command::Whoami {
            qr_png,
            qr_svg,
            no_qr,
        } => {
            let mut account = open_account(&cli.global, &dir)?;
            whoami::show(&mut account, qr_png.as_deref(), qr_svg.as_deref(), !no_qr)
        }
        Command::Demo => demo::run(),
        Command::Requests => oneshot::requests(open_account(&cli.global, &dir)?),
        Command::Chats => oneshot::chats(open_account(&cli.global, &dir)?),
        Command::History { chat, limit } => {
            oneshot::history(open_account(&cli.global, &dir)?, &chat, limit)
        }
        Command::Add { target, intro, net } => oneshot::networked(
            open_account(&cli.global, &dir)?,
            &config,
            &net.peer,
            oneshot::Action::Add { target, intro },
            std::time::Duration::from_secs(net.wait),
        ),
        Command::Accept { chat_key, net } => oneshot::networked(
            open_account(&cli.global, &dir)?,
            &config,
            &net.peer,
            oneshot::Action::Accept(chat_key),
            std::time::Duration::from_secs(net.wait),
        ),
        Command::Send {
            chat_key,
            text,
            net,
        } => oneshot::networked(
            open_account(&cli.global, &dir)?,
            &config,
            &net.peer,
            oneshot::Action::Send { to: chat_key, text },
            std::time::Duration::from_secs(net.wait),
        ),
        Command::Run {
            listen,
            peer,
            store_peer,
        } => {
            let account = open_account(&cli.global, &dir)?;
            run::run(
                account,
                &config,
                run::RunOptions {
                    listen,
                    peers: peer,
                    store_peers: store_peer,
                },
            )
        }
    }
}

pub(crate) fn open_account(global: &Global, dir: &std::path::Path) -> Result<Account, CliError> {
    if !account::exists(dir) {
        return Err(CliError::NoAccount(dir.to_path_buf()));
    }
    let pass = passphrase::obtain(global.passphrase_file.as_deref(), false)?;
    Ok(Account::open(dir, &pass)?)
}

fn read_recovery_phrase() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Recovery phrase (12 or 24 words): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Terminal)?;
    let phrase = line.trim().to_owned();
    if phrase.is_empty() {
        return Err(CliError::NoRecoveryPhrase);
    }
    Ok(phrase)
}

fn init(
    global: &Global,
    dir: &std::path::Path,
    mut config: Config,
    restore: bool,
    name: Option<String>,
    long_phrase: bool,
) -> Result<(), CliError> {
    if account::exists(dir) {
        return Err(CliError::AccountExists(dir.to_path_buf()));
    }
    let phrase = if restore {
        Some(zeroize::Zeroizing::new(read_recovery_phrase()?))
    } else {
        None
    };
    let pass = passphrase::obtain(global.passphrase_file.as_deref(), true)?;
    if let Some(name) = name {
        config.display_name = name;
    }
    let kdf = if std::env::var_os(INSECURE_TEST_KDF_ENV).is_some() {
        tracing::warn!("using test-only key-derivation parameters");
        KdfParams::INSECURE_FOR_TESTS_ONLY
    } else {
        KdfParams::DEFAULT
    };
    let options = CreateOptions::default()
        .with_kdf(kdf)
        .with_display_name(config.display_name.clone())
        .with_words(if long_phrase {
            WordCount::TwentyFour
        } else {
            WordCount::Twelve
        });
    let mut rng = rand::rng();
    // Holds the recovery phrase: zeroized when dropped.
    let mut out = zeroize::Zeroizing::new(String::new());
    let account = match phrase {
        Some(phrase) => {
            let account = Account::restore(dir, &pass, &phrase, options, &mut rng)?;
            let _ = writeln!(out, "Account restored in {}.", dir.display());
            account
        }
        None => {
            let (account, mnemonic) = Account::create(dir, &pass, options, &mut rng)?;
            let _ = writeln!(out, "Account created in {}.", dir.display());
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Your recovery phrase (shown only this once; write it down and keep it safe):"
            );
            let _ = writeln!(out);
            let _ = writeln!(out, "    {}", &*mnemonic.phrase());
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Anyone with these words can be you. `status-chat init --restore` brings the account back."
            );
            let _ = writeln!(out);
            account
        }
    };
    config.save(dir)?;
    let _ = writeln!(out, "Chat key: {}", account.chat_key());
    let _ = writeln!(out, "Alias:    {}", account.alias());
    let _ = writeln!(out, "Next: `status-chat whoami` shows your QR code.");
    output::print(&out);
    Ok(())
}
