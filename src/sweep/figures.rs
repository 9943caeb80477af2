//! The figures of a cv or sweep run (placeholder: the figures are being drawn on another branch).

use crate::error::Result;
use crate::run::figures::Figure;
use crate::sweep::results::SweepResults;

pub fn draw_all(_r: &SweepResults) -> Result<Vec<Figure>> {
    Ok(Vec::new())
}
