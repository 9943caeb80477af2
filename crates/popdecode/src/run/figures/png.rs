//! PNG copies of the figures: the SVG as written, rendered by resvg with the DejaVu Sans font built into the
//! binary, so a machine with no fonts installed draws the same text, and the same SVG always gives the same bytes
//! (tiny-skia's PNG encoder writes no time or other metadata).
//!
//! The same font measures text for layout (`text_width`) and gives the boxes the tests check for overlaps
//! (`text_boxes`).

use std::sync::{Arc, LazyLock};

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/DejaVuSans-LICENSE.txt`).
pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub const FONT_FAMILY: &str = "DejaVu Sans";
/// PNG pixels per SVG pixel: 800 SVG pixels become 1,600, sharp on a projector or a slide.
pub const SCALE: f32 = 2.0;

/// usvg's options with the built-in font as the only font, the one every generic family resolves to.
static OPTIONS: LazyLock<usvg::Options<'static>> = LazyLock::new(|| {
    let mut db = fontdb::Database::new();
    db.load_font_data(FONT.to_vec());
    db.set_sans_serif_family(FONT_FAMILY);
    db.set_serif_family(FONT_FAMILY);
    db.set_monospace_family(FONT_FAMILY);
    usvg::Options {
        font_family: FONT_FAMILY.to_string(),
        fontdb: Arc::new(db),
        ..usvg::Options::default()
    }
});

fn parse(svg: &str) -> Result<usvg::Tree, String> {
    usvg::Tree::from_str(svg, &OPTIONS).map_err(|e| format!("the SVG does not parse: {e}"))
}

/// The SVG rendered at `scale` PNG pixels per SVG pixel, as a PNG file's bytes.
pub fn render(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    let tree = parse(svg)?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or("empty figure")?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("a {} x {} image", size.width(), size.height()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("encoding the PNG failed: {e}"))
}

/// A text of the figure and where it lies, in SVG pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct TextBox {
    pub text: String,
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl TextBox {
    /// Whether the two boxes share more than `slack` pixels each way.
    pub fn overlaps(&self, other: &TextBox, slack: f64) -> bool {
        self.left + slack < other.right
            && other.left + slack < self.right
            && self.top + slack < other.bottom
            && other.top + slack < self.bottom
    }
}

/// Every text of the SVG as laid out in the built-in font: its layout box (advance widths, ascent to descent)
/// after every transform.
pub fn text_boxes(svg: &str) -> Result<Vec<TextBox>, String> {
    fn walk(group: &usvg::Group, out: &mut Vec<TextBox>) {
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => walk(g, out),
                usvg::Node::Text(t) => {
                    let r = t.abs_bounding_box();
                    out.push(TextBox {
                        text: t.chunks().iter().map(|c| c.text()).collect(),
                        left: r.left() as f64,
                        top: r.top() as f64,
                        right: r.right() as f64,
                        bottom: r.bottom() as f64,
                    });
                }
                _ => {}
            }
        }
    }
    let tree = parse(svg)?;
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    Ok(out)
}

/// The width in SVG pixels of `text` at font size `size` in the built-in font (wider than most fonts a viewer
/// substitutes for `sans-serif`, so a layout that fits it fits them).
pub fn text_width(text: &str, size: u32) -> f64 {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text x=\"0\" y=\"0\" \
         font-family=\"sans-serif\" font-size=\"{size}\">{escaped}</text></svg>"
    );
    match text_boxes(&svg).ok().and_then(|b| b.into_iter().next()) {
        Some(b) => b.right - b.left,
        // A text usvg lays out as nothing (blank): no width.
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_font_measures_text() {
        let one = text_width("0", 14);
        assert!((7.0..10.0).contains(&one), "{one}");
        assert!((text_width("00", 14) - 2.0 * one).abs() < 0.5);
        assert!((text_width("0", 28) - 2.0 * one).abs() < 0.5);
        assert_eq!(text_width("", 14), 0.0);
    }

    #[test]
    fn the_built_in_font_is_the_only_font() {
        // resvg is built without its system-fonts feature: nothing installed on the machine is read.
        let faces: Vec<_> = OPTIONS.fontdb.faces().collect();
        assert_eq!(faces.len(), 1);
        assert_eq!(faces[0].families[0].0, FONT_FAMILY);
        let query = fontdb::Query {
            families: &[fontdb::Family::SansSerif],
            ..fontdb::Query::default()
        };
        assert_eq!(OPTIONS.fontdb.query(&query), Some(faces[0].id));
    }
}
