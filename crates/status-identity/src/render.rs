//! Small rendering helpers shared by the identicon and the QR code: PNG encoding of an
//! RGB raster, with bounded sizes.

/// Largest width or height, in pixels, of any PNG this crate renders.
pub const MAX_IMAGE_PIXELS: u32 = 4096;

/// Why an image could not be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The requested image would be wider or taller than [`MAX_IMAGE_PIXELS`], or a scale
    /// of zero was asked for.
    #[error("image of {0} pixels per side is outside 1..={MAX_IMAGE_PIXELS}")]
    Size(u64),
    /// The PNG encoder failed.
    #[error("PNG encoding failed")]
    Png,
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Checks a side length: `cells * scale` pixels, 1..=MAX_IMAGE_PIXELS.
pub(crate) fn side(cells: usize, scale: u32) -> Result<u32, RenderError> {
    let px = (cells as u64).saturating_mul(u64::from(scale));
    if px == 0 || px > u64::from(MAX_IMAGE_PIXELS) {
        return Err(RenderError::Size(px));
    }
    u32::try_from(px).map_err(|_| RenderError::Size(px))
}

/// Encodes a square image of `cells × cells` cells, each `scale` pixels wide, colouring
/// cell (row, col) with `colour(row, col)`.
pub(crate) fn png_grid(
    cells: usize,
    scale: u32,
    colour: impl Fn(usize, usize) -> Rgb,
) -> Result<Vec<u8>, RenderError> {
    let px = side(cells, scale)?;
    let mut pixels = Vec::with_capacity(px as usize * px as usize * 3);
    for y in 0..px {
        let row = (y / scale) as usize;
        for x in 0..px {
            let Rgb(r, g, b) = colour(row, (x / scale) as usize);
            pixels.extend_from_slice(&[r, g, b]);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, px, px);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| RenderError::Png)?;
        writer
            .write_image_data(&pixels)
            .map_err(|_| RenderError::Png)?;
        writer.finish().map_err(|_| RenderError::Png)?;
    }
    Ok(out)
}
