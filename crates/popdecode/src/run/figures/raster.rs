//! Images inside SVG figures: a heatmap of 100 x 360 cells as 36,000 `<rect>` elements would make a 3 MB file, so
//! heatmaps are drawn as small PNG images (encoded here, uncompressed pixels through zlib) embedded as base64 data
//! in an `<image>` element, placed over the chart's plotting area and shown with crisp pixels.

use std::io::Write;

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

    /// The image as a PNG file's bytes: 8-bit RGB, no interlacing, filter 0 on every row.
    pub fn to_png(&self) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut scanlines = Vec::with_capacity(self.height * (self.width * 3 + 1));
        for row in self.rgb.chunks(self.width * 3) {
            scanlines.push(0);
            scanlines.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&scanlines)
            .expect("writing to memory does not fail");
        let idat = z.finish().expect("writing to memory does not fail");
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
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
    fn png_has_its_signature_chunks_and_pixels() {
        let r = Raster::from_fn(3, 2, |x, y| [x as u8 * 100, y as u8 * 200, 7]);
        let png = r.to_png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 3);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 2);
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        // The IDAT payload inflates back to the filtered scanlines.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut z = flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut z, &mut raw).unwrap();
        assert_eq!(
            raw,
            [
                vec![0, 0, 0, 7, 100, 0, 7, 200, 0, 7],
                vec![0, 0, 200, 7, 100, 200, 7, 200, 200, 7]
            ]
            .concat()
        );
    }
}
