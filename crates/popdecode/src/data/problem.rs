//! A decoding problem: the training and test rows of the response matrix with their targets.

use crate::data::split::Split;
use crate::data::{Dataset, Matrix};

#[derive(Clone, Debug)]
pub struct Problem {
    pub x_train: Matrix,
    /// Targets of the training rows: the stimulus in degrees.
    pub y_train: Vec<f32>,
    pub x_test: Matrix,
    pub y_test: Vec<f32>,
}

impl Problem {
    pub fn new(data: &Dataset, split: &Split) -> Problem {
        let pick = |rows: &[usize]| rows.iter().map(|&r| data.stimuli[r]).collect::<Vec<f32>>();
        Problem {
            x_train: data.resp.select_rows(&split.train),
            y_train: pick(&split.train),
            x_test: data.resp.select_rows(&split.test),
            y_test: pick(&split.test),
        }
    }

    pub fn neurons(&self) -> usize {
        self.x_train.cols
    }

    pub fn n_train(&self) -> usize {
        self.x_train.rows
    }

    pub fn n_test(&self) -> usize {
        self.x_test.rows
    }
}
