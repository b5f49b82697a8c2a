//! `status-chat whoami`: who you are, for others to check and to scan.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;

use status::account::Account;

use crate::error::CliError;
use crate::output;

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn show(
    account: &mut Account,
    qr_png: Option<&Path>,
    qr_svg: Option<&Path>,
    draw_qr: bool,
) -> Result<(), CliError> {
    let (code, installation) =
        status::node::contact_code(account).map_err(|e| CliError::Other(e.to_string()))?;
    let uri = code.to_uri();
    let qr = code
        .to_qr()
        .map_err(|e| CliError::Other(format!("cannot draw the QR code: {e}")))?;
    let terminal = std::io::stdout().is_terminal();
    let mut out = String::new();
    let _ = writeln!(out, "Chat key:      {}", account.chat_key());
    let _ = writeln!(out, "Alias:         {}", account.alias());
    let _ = writeln!(out, "Emoji hash:    {}", account.emoji_hash());
    if !account.display_name().is_empty() {
        let _ = writeln!(out, "Display name:  {}", account.display_name());
    }
    let _ = writeln!(out, "Installation:  {}", installation);
    if terminal {
        let _ = writeln!(out, "Identicon:");
        for line in account.identicon().to_ansi().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out, "Contact code:  {uri}");
    if draw_qr {
        let _ = writeln!(out);
        // Dark terminals are the common case; the inverted form scans there.
        let _ = write!(out, "{}", qr.to_unicode_inverted());
        let _ = writeln!(out);
    }
    if let Some(path) = qr_png {
        let png = qr
            .to_png(8)
            .map_err(|e| CliError::Other(format!("cannot render the QR code as PNG: {e}")))?;
        write_file(path, &png)?;
        let _ = writeln!(out, "QR code written to {}", path.display());
    }
    if let Some(path) = qr_svg {
        write_file(path, qr.to_svg(8).as_bytes())?;
        let _ = writeln!(out, "QR code written to {}", path.display());
    }
    output::print(&out);
    Ok(())
}
