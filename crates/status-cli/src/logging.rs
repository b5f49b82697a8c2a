//! Logs: through `tracing` to `logs/status-chat.log` in the data directory (level from
//! `config.toml`), and with `-v` to the terminal's standard error too.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// Sets up logging. The log file is used only if the data directory exists (so that
/// a mistyped `--data-dir` does not leave directories behind).
pub(crate) fn init(data_dir: &Path, file_level: &str, verbose: u8) {
    let file = if data_dir.is_dir() {
        let logs = data_dir.join("logs");
        std::fs::create_dir_all(&logs).ok().and_then(|()| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(logs.join("status-chat.log"))
                .ok()
        })
    } else {
        None
    };
    let file_layer = file.map(|file| {
        let filter = EnvFilter::try_new(file_level).unwrap_or_else(|_| EnvFilter::new("info"));
        fmt::layer()
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .with_filter(filter)
    });
    let terminal_layer = (verbose > 0).then(|| {
        let level = match verbose {
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(EnvFilter::new(level))
    });
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(terminal_layer)
        .try_init();
}
