//! Images inside SVG figures: a heatmap of 100 x 360 cells as 36,000 `<rect>` elements would make a 3 MB file, so
//! heatmaps are drawn as small PNG images (encoded by tiny-skia, which resvg brings for rendering figures) embedded
//! as base64 data in an `<image>` element, placed over the chart's plotting area and shown with crisp pixels.

use resvg::tiny_skia;

/// An RGB image, row 0 at the top.
#[derive(Clone, Debug, PartialEq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    /// `width * height * 3` bytes, row-major.
    pub rgb: Vec<u8>,
}

impl Raster {
    /// An image of `width x height` pixels, coloured by `pixel(x, y)` with y = 0 at the top.
    pub fn from_fn(width: usize, height: usize, pixel: impl Fn(usize, usize) -> [u8; 3]) -> Raster {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&pixel(x, y));
            }
        }
        Raster { width, height, rgb }
    }

    /// Each pixel repeated `fx` times across and `fy` times down.
    pub fn upscaled(&self, fx: usize, fy: usize) -> Raster {
        let row_bytes = self.width * 3;
        let mut rgb = Vec::with_capacity(self.rgb.len() * fx * fy);
        for row in self.rgb.chunks(row_bytes.max(1)) {
            let start = rgb.len();
            for px in row.chunks(3) {
                for _ in 0..fx {
                    rgb.extend_from_slice(px);
                }
            }
            let wide = rgb[start..].to_vec();
            for _ in 1..fy {
                rgb.extend_from_slice(&wide);
            }
        }
        Raster {
            width: self.width * fx,
            height: self.height * fy,
            rgb,
        }
    }

    /// The image as a PNG file's bytes, by tiny-skia's encoder: 8-bit RGBA, every pixel opaque, no interlacing,
    /// nothing that varies between runs (no time or text chunks), so the same image gives the same bytes. Panics
    /// on an image without pixels, which no figure draws (each heatmap has at least one row and one column).
    pub fn to_png(&self) -> Vec<u8> {
        let size = tiny_skia::IntSize::from_wh(self.width as u32, self.height as u32)
            .expect("a raster has at least one pixel");
        let mut rgba = Vec::with_capacity(self.width * self.height * 4);
        for px in self.rgb.chunks(3) {
            rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
        // Opaque pixels are their own premultiplied form.
        tiny_skia::Pixmap::from_vec(rgba, size)
            .expect("width x height x 4 bytes")
            .encode_png()
            .expect("encoding into memory does not fail")
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The largest side, in pixels, that upscaling makes.
const MAX_SIDE: usize = 2048;

/// An image placed on the figure, in SVG pixels: top-left corner and size.
#[derive(Clone, Debug)]
pub struct Placed {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    pub raster: Raster,
    /// What it shows, for the SVG's readers (an `aria-label`).
    pub label: String,
}

impl Placed {
    /// The `<image>` element: stretched to its box without smoothing, so each cell stays a sharp rectangle. Viewers
    /// that smooth images all the same (librsvg, some browsers) are given whole blocks of pixels per cell, at least
    /// as many as the cell covers on screen, so only the cells' borders could blur.
    pub fn svg_element(&self) -> String {
        let factor = |shown: i32, pixels: usize| {
            let f = (shown.max(1) as usize).div_ceil(pixels.max(1));
            f.clamp(1, (MAX_SIDE / pixels.max(1)).max(1))
        };
        let png = self
            .raster
            .upscaled(
                factor(self.width, self.raster.width),
                factor(self.height, self.raster.height),
            )
            .to_png();
        format!(
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
             image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" aria-label=\"{}\" \
             href=\"data:image/png;base64,{}\"/>\n",
            self.x,
            self.y,
            self.width,
            self.height,
            self.label
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;"),
            base64(&png)
        )
    }
}

/// Adds images to a finished SVG document, on top of what is drawn.
pub fn embed(svg: &mut String, images: &[Placed]) {
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    let elements: String = images.iter().map(Placed::svg_element).collect();
    svg.insert_str(end, &elements);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn upscaling_repeats_pixels() {
        let r = Raster::from_fn(2, 1, |x, _| [x as u8, 0, 0]);
        let u = r.upscaled(2, 3);
        assert_eq!((u.width, u.height), (4, 3));
        assert_eq!(u, Raster::from_fn(4, 3, |x, _| [(x / 2) as u8, 0, 0]));
    }

    #[test]
    fn png_has_its_signature_size_and_pixels_and_the_same_bytes_every_time() {
        let r = Raster::from_fn(3, 2, |x, y| [x as u8 * 100, y as u8 * 200, 7]);
        let png = r.to_png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 3);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 2);
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        // It decodes back to the raster's pixels, all opaque.
        let decoded = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (3, 2));
        let pixels: Vec<[u8; 4]> = decoded
            .pixels()
            .iter()
            .map(|p| [p.red(), p.green(), p.blue(), p.alpha()])
            .collect();
        let expected: Vec<[u8; 4]> = r.rgb.chunks(3).map(|p| [p[0], p[1], p[2], 255]).collect();
        assert_eq!(pixels, expected);
        assert_eq!(r.to_png(), png, "the same image, the same bytes");
    }
}
