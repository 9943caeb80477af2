//! The tutorial's two-panel figure: the loss curves (train and test) beside decoded against true orientation on the
//! test stimuli, as `plot_decoded_results`'s figure beside its loss plot.

use plotters::prelude::*;

use super::style::*;
use super::{decoded, loss};
use crate::backend::History;
use crate::run::predictions::Predictions;

pub const NAME: &str = "summary";
pub const SIZE: (u32, u32) = (1400, 560);

pub fn draw(history: &History, loss_label: &str, p: &Predictions) -> Drawn<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        loss::plot(&left, history, loss_label, CAPTION_SIZE)?;
        decoded::plot(&right, p, CAPTION_SIZE)?;
        root.present()?;
    }
    Ok(svg)
}
