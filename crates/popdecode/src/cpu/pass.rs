//! One pass over the response matrix, column chunk by column chunk, each chunk a task for whichever thread is
//! free: the first layer's weight gradient on some rows (`grad`), then either its optimizer step on those
//! columns or the gradient kept (`evaluate`), then the forward partial sums of the (updated) weights on some
//! rows, and the penalty's sums of the updated weights. A chunk of the matrix is read from memory once and
//! stays in the core's cache for all of it, so an epoch reads the matrix once.
//!
//! Each chunk writes only its own columns and its own slot of partial sums; the slots are then added in chunk
//! order, so nothing depends on which thread ran what.

use rayon::prelude::*;

use super::layout::{ChunkedRows, padded_units};
use super::simd::{self, GradArgs, Isa, ROW_BLOCK};
use crate::objective::Penalty;
use crate::optim::Optimizer;

/// Units whose gradient is computed, then stepped, together: a tile that stays in L1/L2 between the two.
pub const UNIT_GROUP: usize = 40;

/// The gradient's rows and d loss / d pre-activation (f32).
#[derive(Clone, Copy)]
pub enum Grad<'a> {
    /// Every unit on the same rows: the rows, and the delta, rows x padded units.
    Rows(&'a [usize], &'a [f32]),
    /// Each tile of `UNIT_GROUP` units (tile `t`: units from `t * UNIT_GROUP`, of the padded units) on its own
    /// rows: `(rows, delta)`, the delta rows x the tile's units. A stack's tile need only take the rows its
    /// networks train on, instead of multiplying zeros on every other member's rows.
    Tiles(&'a [(Vec<usize>, Vec<f32>)]),
}

/// One network's optimizer step of its units (`FirstLayer::group` of them) in a first layer that may hold many
/// networks' units (a stack, `cpu::stack`).
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub optimizer: Optimizer,
    pub lr: f64,
    pub t: u64,
    pub penalty: Penalty,
    /// The columns this network reads, chunked as one unit's weights (chunk `c`'s columns from `c * width`);
    /// elsewhere its gradient is taken as 0, so its weights there (0) are never moved. `None`: every column.
    pub mask: Option<&'a [bool]>,
    /// Whether its units are stepped at all (a stack member that diverged is left where it stopped).
    pub live: bool,
}

impl Step<'_> {
    /// One network's step of every column.
    pub fn plain(optimizer: Optimizer, lr: f64, t: u64, penalty: Penalty) -> Step<'static> {
        Step {
            optimizer,
            lr,
            t,
            penalty,
            mask: None,
            live: true,
        }
    }
}

/// What a pass does with the gradient.
pub enum Use<'a> {
    /// Step the weights (and their moments), with the penalty's gradient added: unit `m` by
    /// `steps[m / FirstLayer::group]`.
    Step(&'a [Step<'a>]),
    /// Keep it, chunked as the weights are.
    Keep(&'a mut [f32]),
    /// No gradient: a forward pass only.
    Forward,
}

/// The first layer's weights and optimizer moments, chunked (see `layout::to_chunks`): one network's, or a
/// stack's, whose networks' units follow one another, `group` units each.
pub struct FirstLayer {
    pub units: usize,
    /// Units per network: `units` for one network.
    pub group: usize,
    pub weights: Vec<f32>,
    pub moments: Vec<Vec<f32>>,
}

/// What a pass gives back: the forward products of the `fwd` rows (rows x units, f64, without the bias) and
/// the penalty's sums at the weights it leaves (sum of squares, sum of absolute values), one per network.
pub struct PassOut {
    pub products: Vec<f64>,
    pub squares: Vec<f64>,
    pub abs: Vec<f64>,
}

struct Scratch {
    g: Vec<f32>,
}

/// Runs one pass. `grad` is (the rows, d loss / d pre-activation: rows x padded units, f32); `fwd` the rows to
/// forward after the update; `sums` whether to take the penalty's sums.
#[allow(clippy::too_many_arguments)]
pub fn run(
    isa: Isa,
    x: &ChunkedRows,
    layer: &mut FirstLayer,
    grad: Option<(&[usize], &[f32])>,
    use_: Use,
    fwd: &[usize],
    sums: bool,
    partials: &mut Vec<f32>,
) -> PassOut {
    let grad = grad.map(|(rows, d)| Grad::Rows(rows, d));
    run_grad(isa, x, layer, grad, use_, fwd, sums, partials)
}

/// `run` with the gradient's rows given per tile if need be (`Grad::Tiles`).
#[allow(clippy::too_many_arguments)]
pub fn run_grad(
    isa: Isa,
    x: &ChunkedRows,
    layer: &mut FirstLayer,
    grad: Option<Grad>,
    mut use_: Use,
    fwd: &[usize],
    sums: bool,
    partials: &mut Vec<f32>,
) -> PassOut {
    let chunks = x.chunks;
    let (units, width) = (layer.units, chunks.width);
    let mp = padded_units(units);
    // Forward rows padded to a whole register tile by repeating the last (its sums are dropped).
    let mut rows = fwd.to_vec();
    if let Some(&last) = fwd.last() {
        rows.resize(fwd.len().next_multiple_of(ROW_BLOCK), last);
    }
    let slot = rows.len() * mp;
    partials.clear();
    partials.resize(chunks.count * slot, 0.0);
    let group = layer.group.max(1);
    let groups = units.div_ceil(group).max(1);
    let mut pen = vec![(0.0f64, 0.0f64); chunks.count * groups];
    let per = mp * width;
    if let Some(Grad::Tiles(tiles)) = grad {
        assert_eq!(
            tiles.len(),
            mp.div_ceil(UNIT_GROUP),
            "a gradient tile per unit tile"
        );
    }

    struct Job<'a> {
        c: usize,
        w: &'a mut [f32],
        moments: Vec<&'a mut [f32]>,
        kept: Option<&'a mut [f32]>,
        part: &'a mut [f32],
        pen: &'a mut [(f64, f64)],
    }
    let steps: Option<&[Step]> = match &use_ {
        Use::Step(steps) => Some(steps),
        Use::Keep(_) | Use::Forward => None,
    };
    let mut moment_chunks: Vec<_> = layer
        .moments
        .iter_mut()
        .map(|m| m.chunks_mut(per))
        .collect();
    let mut kept_chunks = match &mut use_ {
        Use::Keep(g) => Some(g.chunks_mut(per)),
        Use::Step { .. } | Use::Forward => None,
    };
    let mut part_chunks = partials.chunks_mut(slot.max(1));
    let jobs: Vec<Job> = layer
        .weights
        .chunks_mut(per)
        .zip(pen.chunks_mut(groups))
        .enumerate()
        .map(|(c, (w, pen))| Job {
            c,
            w,
            moments: moment_chunks
                .iter_mut()
                .map(|m| m.next().expect("a moment chunk"))
                .collect(),
            kept: kept_chunks
                .as_mut()
                .map(|k| k.next().expect("a gradient chunk")),
            part: if slot > 0 {
                part_chunks.next().expect("a partial slot")
            } else {
                &mut []
            },
            pen,
        })
        .collect();

    jobs.into_par_iter().for_each_init(
        || Scratch {
            g: vec![0.0; UNIT_GROUP.min(mp) * width],
        },
        |s, mut job| {
            let c = job.c;
            let xc = x.chunk(c);
            let (real, padded) = (chunks.real(c), chunks.padded(c));
            if let Some(grad) = grad {
                for (tile, m0) in (0..mp).step_by(UNIT_GROUP).enumerate() {
                    let n = UNIT_GROUP.min(mp - m0);
                    let (rows, d, ds, dm0) = match grad {
                        Grad::Rows(rows, d) => (rows, d, mp, m0),
                        Grad::Tiles(tiles) => (&tiles[tile].0[..], &tiles[tile].1[..], n, 0),
                    };
                    let args = GradArgs {
                        x: xc,
                        xs: width,
                        rows,
                        d,
                        ds,
                        m0: dm0,
                        units: n,
                        width: padded,
                    };
                    simd::grad(isa, args, &mut s.g, width);
                    let live = n.min(units.saturating_sub(m0));
                    if let Some(kept) = job.kept.as_deref_mut() {
                        kept[m0 * width..(m0 + n) * width].copy_from_slice(&s.g[..n * width]);
                    } else if let Some(steps) = steps {
                        step_rows(
                            isa,
                            &mut s.g,
                            Units {
                                steps,
                                group,
                                m0,
                                live,
                            },
                            &mut job.w[m0 * width..],
                            &mut job.moments,
                            (c, width, real),
                        );
                    }
                }
            }
            if !rows.is_empty() {
                simd::dot(
                    isa, xc, width, &rows, job.w, width, mp, padded, job.part, mp,
                );
            }
            if sums {
                for (m, row) in job.w.chunks(width).take(units).enumerate() {
                    let (sq, abs) = &mut job.pen[m / group];
                    for &v in &row[..real] {
                        let v = f64::from(v);
                        *sq += v * v;
                        *abs += v.abs();
                    }
                }
            }
        },
    );

    // The chunks' partial sums added in chunk order, each row by one thread.
    let mut products = vec![0.0f64; fwd.len() * units];
    let partials = &*partials;
    products
        .par_chunks_mut(units.max(1))
        .enumerate()
        .for_each(|(k, out)| {
            for c in 0..chunks.count {
                let part = &partials[c * slot + k * mp..c * slot + k * mp + units];
                for (o, &p) in out.iter_mut().zip(part) {
                    *o += f64::from(p);
                }
            }
        });
    let (mut squares, mut abs) = (vec![0.0; groups], vec![0.0; groups]);
    for chunk in pen.chunks(groups) {
        for (k, &(cs, ca)) in chunk.iter().enumerate() {
            squares[k] += cs;
            abs[k] += ca;
        }
    }
    PassOut {
        products,
        squares,
        abs,
    }
}

/// Which units a tile of the gradient holds and how each is stepped: the tile's unit `m` is unit `m0 + m`,
/// stepped by `steps[(m0 + m) / group]`; the first `live` are real units.
struct Units<'a> {
    steps: &'a [Step<'a>],
    group: usize,
    m0: usize,
    live: usize,
}

/// The optimizer's step (its own `Rule::step_f32`, compiled for the processor's SIMD) of a tile's real units on
/// the `real` columns of chunk `c`, the penalty's gradient added to the gradient first and the network's mask
/// applied after.
fn step_rows(
    isa: Isa,
    g: &mut [f32],
    units: Units,
    w: &mut [f32],
    moments: &mut [&mut [f32]],
    (c, width, real): (usize, usize, usize),
) {
    let offset = units.m0 * width;
    simd::vectorized(isa, || {
        for m in 0..units.live {
            let step = &units.steps[(units.m0 + m) / units.group];
            if !step.live {
                continue;
            }
            let (w, g) = (
                &mut w[m * width..m * width + real],
                &mut g[m * width..m * width + real],
            );
            let penalty = step.penalty;
            if !penalty.is_zero() {
                for (g, &w) in g.iter_mut().zip(w.iter()) {
                    *g += penalty.grad(f64::from(w)) as f32;
                }
            }
            if let Some(mask) = step.mask {
                for (g, &keep) in g.iter_mut().zip(&mask[c * width..c * width + real]) {
                    if !keep {
                        *g = 0.0;
                    }
                }
            }
            let at = offset + m * width;
            let (optimizer, lr, t) = (step.optimizer, step.lr, step.t);
            match &mut moments[..optimizer.moments()] {
                [] => optimizer.step_f32(lr, t, w, g, &mut []),
                [a] => optimizer.step_f32(lr, t, w, g, &mut [&mut a[at..at + real]]),
                [a, b] => optimizer.step_f32(
                    lr,
                    t,
                    w,
                    g,
                    &mut [&mut a[at..at + real], &mut b[at..at + real]],
                ),
                more => {
                    let mut rows: Vec<&mut [f32]> =
                        more.iter_mut().map(|m| &mut m[at..at + real]).collect();
                    optimizer.step_f32(lr, t, w, g, &mut rows)
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::layout::chunk_width;
    use crate::data::Matrix;

    /// A pass with each tile on its own rows steps the weights exactly as one on every row with the delta zero
    /// elsewhere: the rows left out only multiplied zeros.
    #[test]
    fn tiles_on_their_own_rows_step_as_every_row_with_zeros() {
        let (rows, cols, units) = (23, 70, 100);
        let mp = padded_units(units);
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let x = Matrix::new(rows, cols, (0..rows * cols).map(|_| next()).collect());
        let x = ChunkedRows::from_matrix(&x, chunk_width(mp));
        let weights: Vec<f32> = (0..mp * x.chunks.count * x.chunks.width)
            .map(|_| next())
            .collect();
        let all: Vec<usize> = (0..rows).collect();
        let mut full = vec![0.0f32; rows * mp];
        let tiles: Vec<(Vec<usize>, Vec<f32>)> = (0..mp)
            .step_by(UNIT_GROUP)
            .enumerate()
            .map(|(t, m0)| {
                let n = UNIT_GROUP.min(mp - m0);
                // Tile t on every (t + 2)-th row; the padding units past `units` have zero deltas.
                let mine: Vec<usize> = (0..rows).filter(|r| r % (t + 2) == 0).collect();
                let mut d = vec![0.0f32; mine.len() * n];
                for (i, &r) in mine.iter().enumerate() {
                    for u in 0..n.min(units.saturating_sub(m0)) {
                        let v = next();
                        d[i * n + u] = v;
                        full[r * mp + m0 + u] = v;
                    }
                }
                (mine, d)
            })
            .collect();
        let step = |grad: Grad| {
            let mut layer = FirstLayer {
                units,
                group: units,
                weights: weights.clone(),
                moments: vec![vec![0.0; weights.len()]; 2],
            };
            let optimizer = crate::training::Config::default().optimizer;
            let steps = [Step::plain(optimizer, 0.1, 1, Penalty::default())];
            let out = run_grad(
                Isa::detect(),
                &x,
                &mut layer,
                Some(grad),
                Use::Step(&steps),
                &all,
                false,
                &mut Vec::new(),
            );
            (layer.weights, out.products)
        };
        let (tiled, tiled_products) = step(Grad::Tiles(&tiles));
        let (every, every_products) = step(Grad::Rows(&all, &full));
        assert_ne!(
            tiled, weights,
            "the step moved nothing, so the case proves little"
        );
        let differ = tiled.iter().zip(&every).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "weights of {} differ", every.len());
        let differ = (tiled_products.iter().zip(&every_products)).filter(|(a, b)| a != b);
        assert_eq!(differ.count(), 0, "products differ");
    }
}
