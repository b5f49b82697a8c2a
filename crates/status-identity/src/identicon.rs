//! Identicons: a symmetric coloured grid drawn from an identity key, rendered as SVG, PNG
//! and coloured terminal text.
//!
//! `h = SHA-512("STATUS-RS/1/identicon|" || key)`. The foreground colour is
//! `PALETTE[h[0] % 16]`. The grid is 5 × 5 cells mirrored left to right: the 15 bits of
//! `u16 BE h[1..3]` (bit `i` from the least significant, for `i` in 0..15) fill row `i / 3`,
//! column `i % 3` (and its mirror `4 - i % 3`). The background is [`BACKGROUND`]; every
//! rendering has a one-cell margin.

use core::fmt::Write as _;

use sha2::{Digest as _, Sha512};

use crate::keys::IdentityPublicKey;
use crate::render::{self, RenderError, Rgb};

/// Cells per side.
pub const GRID: usize = 5;
/// Background colour.
pub const BACKGROUND: Rgb = Rgb(0xf0, 0xf0, 0xf0);
/// Foreground colours.
pub const PALETTE: [Rgb; 16] = [
    Rgb(0xd3, 0x2f, 0x2f),
    Rgb(0xc2, 0x18, 0x5b),
    Rgb(0x7b, 0x1f, 0xa2),
    Rgb(0x51, 0x2d, 0xa8),
    Rgb(0x30, 0x3f, 0x9f),
    Rgb(0x19, 0x76, 0xd2),
    Rgb(0x02, 0x88, 0xd1),
    Rgb(0x00, 0x97, 0xa7),
    Rgb(0x00, 0x79, 0x6b),
    Rgb(0x38, 0x8e, 0x3c),
    Rgb(0x68, 0x9f, 0x38),
    Rgb(0xaf, 0xb4, 0x2b),
    Rgb(0xf5, 0x7c, 0x00),
    Rgb(0xe6, 0x4a, 0x19),
    Rgb(0x5d, 0x40, 0x37),
    Rgb(0x45, 0x5a, 0x64),
];

const LABEL: &[u8] = b"STATUS-RS/1/identicon|";
/// Side of a rendering in cells, margins included.
const SIDE: usize = GRID + 2;

/// An identicon: which cells are filled, and the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identicon {
    cells: [[bool; GRID]; GRID],
    colour: Rgb,
}

impl Identicon {
    /// The identicon of `key`.
    pub fn new(key: &IdentityPublicKey) -> Self {
        let mut h = Sha512::new();
        h.update(LABEL);
        h.update(key.as_bytes());
        let h: [u8; 64] = h.finalize().into();
        let colour = PALETTE[usize::from(h[0] % 16)];
        let bits = u16::from_be_bytes([h[1], h[2]]);
        let mut cells = [[false; GRID]; GRID];
        for i in 0..15 {
            let on = bits >> i & 1 == 1;
            let (row, col) = (i / 3, i % 3);
            cells[row][col] = on;
            cells[row][GRID - 1 - col] = on;
        }
        Identicon { cells, colour }
    }

    /// Whether the cell at `row`, `col` (0-based, within [`GRID`]) is filled.
    pub fn cell(&self, row: usize, col: usize) -> bool {
        self.cells
            .get(row)
            .and_then(|r| r.get(col))
            .copied()
            .unwrap_or(false)
    }

    /// The foreground colour.
    pub fn colour(&self) -> Rgb {
        self.colour
    }

    fn pixel(&self, row: usize, col: usize) -> Rgb {
        // Rows and columns of a rendering include a one-cell margin.
        if (1..=GRID).contains(&row) && (1..=GRID).contains(&col) && self.cell(row - 1, col - 1) {
            self.colour
        } else {
            BACKGROUND
        }
    }

    /// An SVG document `size` pixels square.
    pub fn to_svg(&self, size: u32) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
             viewBox=\"0 0 {SIDE} {SIDE}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{SIDE}\" height=\"{SIDE}\" fill=\"{}\"/>",
            BACKGROUND.to_hex()
        );
        for row in 0..GRID {
            for col in 0..GRID {
                if self.cells[row][col] {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\" fill=\"{}\"/>",
                        col + 1,
                        row + 1,
                        self.colour.to_hex()
                    );
                }
            }
        }
        out.push_str("</svg>\n");
        out
    }

    /// A PNG image with cells of `scale` pixels (7 × `scale` pixels square).
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, RenderError> {
        render::png_grid(SIDE, scale, |row, col| self.pixel(row, col))
    }

    /// Text for a terminal with 24-bit colour: each cell two spaces with an ANSI background
    /// colour, one line per row, each line ending with a reset.
    pub fn to_ansi(&self) -> String {
        let mut out = String::new();
        for row in 0..SIDE {
            for col in 0..SIDE {
                let Rgb(r, g, b) = self.pixel(row, col);
                let _ = write!(out, "\x1b[48;2;{r};{g};{b}m  ");
            }
            out.push_str("\x1b[0m\n");
        }
        out
    }
}

impl IdentityPublicKey {
    /// The identicon of this identity.
    pub fn identicon(&self) -> Identicon {
        Identicon::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityKeyPair;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn symmetric_and_deterministic() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        for _ in 0..32 {
            let key = IdentityKeyPair::generate(&mut rng);
            let icon = key.public_key().identicon();
            assert_eq!(icon, Identicon::new(key.public_key()));
            for row in 0..GRID {
                for col in 0..GRID {
                    assert_eq!(icon.cell(row, col), icon.cell(row, GRID - 1 - col));
                }
            }
            assert!(!icon.cell(GRID, 0));
        }
    }

    #[test]
    fn renderings() {
        let key = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(13));
        let icon = key.public_key().identicon();
        let filled = (0..GRID)
            .flat_map(|r| (0..GRID).map(move |c| (r, c)))
            .filter(|&(r, c)| icon.cell(r, c))
            .count();
        let svg = icon.to_svg(140);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), filled + 1);
        let ansi = icon.to_ansi();
        assert_eq!(ansi.lines().count(), SIDE);
        assert_eq!(ansi.matches("\x1b[48;2;").count(), SIDE * SIDE);
        let png = icon.to_png(10).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // Decode back and check the pixels.
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (70, 70));
        for row in 0..SIDE {
            for col in 0..SIDE {
                let at = ((row * 10 + 5) * 70 + col * 10 + 5) * 3;
                let Rgb(r, g, b) = icon.pixel(row, col);
                assert_eq!(&buf[at..at + 3], &[r, g, b]);
            }
        }
        assert_eq!(icon.to_png(0), Err(RenderError::Size(0)));
        assert_eq!(icon.to_png(10_000), Err(RenderError::Size(70_000)));
    }
}
