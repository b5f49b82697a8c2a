//! QR codes for terminals and screens: SVG, PNG and Unicode half-blocks.
//!
//! Encoding uses the `qrcode` crate (error correction level M: 15 % of the code may be
//! damaged). Every rendering has the 4-module quiet zone the QR standard asks for.

use core::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use crate::render::{self, RenderError, Rgb};

/// Width of the quiet zone around the code, in modules.
pub const QUIET_ZONE: usize = 4;

/// Why data could not be put in a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The data does not fit in the largest QR code (version 40) at level M.
    #[error("data too long for a QR code")]
    DataTooLong,
    /// The QR encoder failed for another reason.
    #[error("QR encoding failed")]
    Encoding,
}

/// A QR code, ready to render.
#[derive(Clone)]
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl core::fmt::Debug for Qr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Qr").field("width", &self.width).finish()
    }
}

impl Qr {
    /// Encodes `data` (byte mode, level M).
    pub fn encode(data: &[u8]) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(data, EcLevel::M).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => QrError::DataTooLong,
            _ => QrError::Encoding,
        })?;
        let width = code.width();
        let dark = code
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Qr { width, dark })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark (false outside the code).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.width
            && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// Like [`Qr::is_dark`] in coordinates that include the quiet zone.
    fn dark_with_margin(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// An SVG document, `module_px` pixels per module.
    pub fn to_svg(&self, module_px: u32) -> String {
        let side = self.side();
        let px = side as u64 * u64::from(module_px);
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" \
             viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\""
        );
        for y in 0..side {
            for x in 0..side {
                if self.dark_with_margin(x, y) {
                    let _ = write!(out, "M{x} {y}h1v1h-1z");
                }
            }
        }
        out.push_str("\"/></svg>\n");
        out
    }

    /// A PNG image, `module_px` pixels per module, black on white.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, RenderError> {
        render::png_grid(self.side(), module_px, |row, col| {
            if self.dark_with_margin(col, row) {
                Rgb(0, 0, 0)
            } else {
                Rgb(0xff, 0xff, 0xff)
            }
        })
    }

    /// Text of Unicode half-blocks (`▀`, `▄`, `█`, space), two module rows per line, dark
    /// modules drawn as ink: for terminals with a light background.
    pub fn to_unicode(&self) -> String {
        self.half_blocks(false)
    }

    /// As [`Qr::to_unicode`] with light modules drawn as ink: for terminals with a dark
    /// background, where the ink is the light colour.
    pub fn to_unicode_inverted(&self) -> String {
        self.half_blocks(true)
    }

    fn half_blocks(&self, invert: bool) -> String {
        let side = self.side();
        let mut out = String::new();
        for y in (0..side).step_by(2) {
            for x in 0..side {
                let top = self.dark_with_margin(x, y) != invert;
                // The row below the last one (odd side) is quiet zone.
                let bottom = if y + 1 < side {
                    self.dark_with_margin(x, y + 1) != invert
                } else {
                    invert
                };
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_consistently() {
        let qr = Qr::encode(b"status-rs://contact/test").unwrap();
        let side = qr.width() + 2 * QUIET_ZONE;
        let dark = (0..qr.width())
            .flat_map(|y| (0..qr.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| qr.is_dark(x, y))
            .count();
        let svg = qr.to_svg(4);
        assert_eq!(svg.matches('M').count(), dark);
        let text = qr.to_unicode();
        assert_eq!(text.lines().count(), side.div_ceil(2));
        assert!(text.lines().all(|l| l.chars().count() == side));
        let inverted = qr.to_unicode_inverted();
        assert_eq!(inverted.lines().count(), text.lines().count());
        // Finder pattern corner: top-left module of the code is dark.
        assert!(qr.is_dark(0, 0));
        assert!(!qr.is_dark(qr.width(), 0));
        let png = qr.to_png(3).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(Qr::encode(&[0u8; 4000]).err(), Some(QrError::DataTooLong));
    }
}
