//! The QR renderings carry the contact code: the PNG is read back by an independent QR
//! decoder (rqrr), and the SVG and Unicode renderings are read back module by module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::qr::QUIET_ZONE;
use status_identity::{ContactCode, IdentityKeyPair, Qr};

fn decode_png(png_bytes: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * 3]);
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().unwrap().1)
        .collect()
}

fn code(seed: u64, bundle_len: usize) -> ContactCode {
    let key = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(seed));
    ContactCode::new(&key, "Alice", &vec![0xa5; bundle_len], 1_700_000_000_000).unwrap()
}

#[test]
fn png_decodes_to_the_contact_code() {
    for (seed, bundle_len) in [(1, 0), (2, 120), (3, 400)] {
        let code = code(seed, bundle_len);
        let qr = code.to_qr().unwrap();
        let decoded = decode_png(&qr.to_png(4).unwrap());
        assert_eq!(decoded, vec![code.to_uri()], "bundle {bundle_len}");
        assert_eq!(ContactCode::from_uri(&decoded[0]).unwrap(), code);
    }
}

fn modules_from_unicode(text: &str, inverted: bool) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (t, b) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?}"),
            };
            top.push(t != inverted);
            bottom.push(b != inverted);
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

#[test]
fn unicode_and_svg_carry_every_module() {
    let qr: Qr = code(4, 50).to_qr().unwrap();
    let side = qr.width() + 2 * QUIET_ZONE;
    let dark_at = |x: usize, y: usize| {
        x >= QUIET_ZONE && y >= QUIET_ZONE && qr.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    };
    for inverted in [false, true] {
        let text = if inverted {
            qr.to_unicode_inverted()
        } else {
            qr.to_unicode()
        };
        let rows = modules_from_unicode(&text, inverted);
        for (y, row) in rows.iter().enumerate().take(side) {
            assert_eq!(row.len(), side);
            for (x, &dark) in row.iter().enumerate() {
                assert_eq!(dark, dark_at(x, y), "({x}, {y}) inverted {inverted}");
            }
        }
        // The padding half-row below an odd side is quiet zone (light).
        if side % 2 == 1 {
            assert!(rows[side].iter().all(|&dark| !dark));
        }
    }
    let svg = qr.to_svg(3);
    let mut dark = vec![vec![false; side]; side];
    for cell in svg.split('M').skip(1) {
        let mut it = cell
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty());
        let x: usize = it.next().unwrap().parse().unwrap();
        let y: usize = it.next().unwrap().parse().unwrap();
        dark[y][x] = true;
    }
    for (y, row) in dark.iter().enumerate() {
        for (x, &d) in row.iter().enumerate() {
            assert_eq!(d, dark_at(x, y), "svg ({x}, {y})");
        }
    }
}
