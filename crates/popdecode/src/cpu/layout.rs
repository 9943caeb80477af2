//! Column chunks: the response matrix (training rows, then test rows) and the first layer's weights cut into
//! chunks of a fixed number of neurons, each chunk contiguous, so that one chunk of every row stays in the
//! core's cache while its weight gradient, update and forward partial sums are computed.
//!
//! The chunk width depends on the first layer's width only (never on the thread count), so every sum has the same
//! order however many threads run. The last chunk is padded with zero columns to a multiple of
//! `simd::COLUMN_ALIGN`, and the units to a multiple of `simd::UNIT_BLOCK` with zero rows; padding is never
//! stepped, so it stays zero and adds nothing.

use rayon::prelude::*;

use super::simd::{COLUMN_ALIGN, UNIT_BLOCK};
use crate::data::Matrix;
use crate::data::problem::Problem;

/// Neurons per chunk for a first layer of `padded_units` (padded) units. A chunk of all 360 rows (0.7 MB at 512)
/// stays in a core's L2 cache between the gradient and the forward pass. Measured on 2 cores (ms per epoch at
/// M = 10 / 200 / 1000): 256 columns 2.36 / 31.4 / 278 (one run), 512 columns 1.9-2.1 / 24.3-24.9 / 121-128, 1024 columns
/// 2.0-2.2 / 23.5-24.3 / 123-126, 2048 columns 2.0 / 26.4 / -; so 512, which leaves tasks enough for more cores,
/// and 1024 above 400 units, whose partial sums (rows x units a chunk) would otherwise take 68 MB at M = 1000.
pub fn chunk_width(padded_units: usize) -> usize {
    if padded_units <= 400 { 512 } else { 1024 }
}

/// How the neurons are cut: `cols` real columns in chunks of `width`.
#[derive(Clone, Copy, Debug)]
pub struct Chunks {
    pub cols: usize,
    pub width: usize,
    pub count: usize,
}

impl Chunks {
    pub fn new(cols: usize, width: usize) -> Chunks {
        assert!(width.is_multiple_of(COLUMN_ALIGN));
        Chunks {
            cols,
            width,
            count: cols.div_ceil(width),
        }
    }

    /// The first column of chunk `c`.
    pub fn start(&self, c: usize) -> usize {
        c * self.width
    }

    /// Real columns in chunk `c`.
    pub fn real(&self, c: usize) -> usize {
        (self.cols - self.start(c)).min(self.width)
    }

    /// Columns the kernels run over in chunk `c`: the real ones rounded up to `COLUMN_ALIGN`.
    pub fn padded(&self, c: usize) -> usize {
        self.real(c).next_multiple_of(COLUMN_ALIGN)
    }
}

/// Units rounded up to `UNIT_BLOCK`.
pub fn padded_units(units: usize) -> usize {
    units.next_multiple_of(UNIT_BLOCK)
}

/// The response matrix in chunks: chunk `c`, row `r`, column `j` at `(c * rows + r) * width + j`; rows are the
/// training rows, then the test rows.
pub struct ChunkedRows {
    pub chunks: Chunks,
    pub rows: usize,
    pub data: Vec<f32>,
}

impl ChunkedRows {
    pub fn new(problem: &Problem, width: usize) -> ChunkedRows {
        let n_train = problem.n_train();
        ChunkedRows::from_rows(problem.neurons(), n_train + problem.n_test(), width, |r| {
            if r < n_train {
                problem.x_train.row(r)
            } else {
                problem.x_test.row(r - n_train)
            }
        })
    }

    /// A matrix's rows, in order (a stack's, `cpu::stack`).
    pub fn from_matrix(x: &Matrix, width: usize) -> ChunkedRows {
        ChunkedRows::from_rows(x.cols, x.rows, width, |r| x.row(r))
    }

    /// `rows` rows of `cols` columns, row `r` being `row(r)`.
    fn from_rows<'a>(
        cols: usize,
        rows: usize,
        width: usize,
        row: impl Fn(usize) -> &'a [f32] + Sync,
    ) -> ChunkedRows {
        let chunks = Chunks::new(cols, width);
        let mut data = vec![0.0f32; chunks.count * rows * width];
        data.par_chunks_mut((rows * width).max(1))
            .enumerate()
            .for_each(|(c, dst)| {
                let (start, real) = (chunks.start(c), chunks.real(c));
                for (r, dst) in dst.chunks_mut(width).enumerate() {
                    dst[..real].copy_from_slice(&row(r)[start..start + real]);
                }
            });
        ChunkedRows { chunks, rows, data }
    }

    /// Chunk `c`: `rows` rows of `width` floats.
    pub fn chunk(&self, c: usize) -> &[f32] {
        let n = self.rows * self.chunks.width;
        &self.data[c * n..(c + 1) * n]
    }
}

/// An `units x cols` row-major tensor (the first layer's weights, their gradient or an optimizer moment) in
/// chunks: chunk `c`, unit `m`, column `j` at `(c * padded_units + m) * width + j`.
pub fn to_chunks(chunks: &Chunks, units: usize, dense: &[f32]) -> Vec<f32> {
    let (mp, width) = (padded_units(units), chunks.width);
    let mut out = vec![0.0f32; chunks.count * mp * width];
    for (c, dst) in out.chunks_mut(mp * width).enumerate() {
        let (start, real) = (chunks.start(c), chunks.real(c));
        for m in 0..units {
            let src = &dense[m * chunks.cols + start..m * chunks.cols + start + real];
            dst[m * width..m * width + real].copy_from_slice(src);
        }
    }
    out
}

/// The inverse of [`to_chunks`]: `units x cols`, row-major.
pub fn from_chunks<T: Copy + Default>(chunks: &Chunks, units: usize, chunked: &[T]) -> Vec<T> {
    let (mp, width) = (padded_units(units), chunks.width);
    let mut out = vec![T::default(); units * chunks.cols];
    for (c, src) in chunked.chunks(mp * width).enumerate() {
        let (start, real) = (chunks.start(c), chunks.real(c));
        for m in 0..units {
            out[m * chunks.cols + start..m * chunks.cols + start + real]
                .copy_from_slice(&src[m * width..m * width + real]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_go_into_chunks_and_back() {
        let chunks = Chunks::new(300, 128);
        assert_eq!(
            (chunks.count, chunks.real(2), chunks.padded(2)),
            (3, 44, 64)
        );
        let dense: Vec<f32> = (0..7 * 300).map(|i| i as f32).collect();
        let chunked = to_chunks(&chunks, 7, &dense);
        assert_eq!(chunked.len(), 3 * 10 * 128);
        assert_eq!(chunked[(10 + 2) * 128 + 5], dense[2 * 300 + 128 + 5]);
        assert_eq!(from_chunks(&chunks, 7, &chunked), dense);
    }
}
