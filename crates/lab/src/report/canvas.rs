//! A small RGB raster for the report's charts, written out as PNG.
//!
//! Two charts (a heat map and a curve) need rectangles, lines and short
//! labels; font8x8's public-domain bitmap glyphs give the labels without a
//! TrueType font on the machine.

use font8x8::legacy::BASIC_LEGACY;

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [20, 20, 20];
pub const GREY: Rgb = [170, 170, 170];
pub const BLUE: Rgb = [31, 90, 180];

pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Canvas {
        Canvas { width, height, pixels: vec![255; (width * height * 3) as usize] }
    }

    pub fn dot(&mut self, x: i64, y: i64, color: Rgb) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let at = ((y as u32 * self.width + x as u32) * 3) as usize;
        self.pixels[at..at + 3].copy_from_slice(&color);
    }

    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.dot(xx, yy, color);
            }
        }
    }

    /// A line `thick` pixels wide; `dash` > 0 leaves gaps of that length.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), thick: i64, color: Rgb, dash: usize) {
        let steps = ((to.0 - from.0).abs().max((to.1 - from.1).abs()).ceil() as usize).max(1);
        for s in 0..=steps {
            if dash > 0 && (s / dash) % 2 == 1 {
                continue;
            }
            let t = s as f64 / steps as f64;
            let (x, y) = (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
            self.rect(x.round() as i64 - thick / 2, y.round() as i64 - thick / 2, thick, thick, color);
        }
    }

    /// Text at `scale` × 8 pixels per glyph; returns its width.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Rgb) -> i64 {
        for (i, ch) in text.chars().enumerate() {
            let glyph = BASIC_LEGACY.get(ch as usize).copied().unwrap_or(BASIC_LEGACY[b'?' as usize]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.rect(x + (i as i64 * 8 + col) * scale, y + row as i64 * scale, scale, scale, color);
                    }
                }
            }
        }
        Self::text_width(text, scale)
    }

    pub fn text_width(text: &str, scale: i64) -> i64 {
        text.chars().count() as i64 * 8 * scale
    }

    pub fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().with_context(|| format!("cannot write {}", path.display()))?;
        writer.write_image_data(&self.pixels).with_context(|| format!("cannot write {}", path.display()))?;
        writer.finish().with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}
