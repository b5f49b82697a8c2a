//! Printing to standard output without panicking when the reader has gone (`| head`).

use std::io::Write as _;

/// Writes `text` to standard output; a closed pipe or other write error is ignored
/// (there is nobody left to tell).
pub(crate) fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
