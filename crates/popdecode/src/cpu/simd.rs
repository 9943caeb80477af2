//! The two products of the first layer on one column chunk, register-blocked, in plain Rust compiled once per
//! instruction set and chosen at run time (multiversioning by hand: the same generic loops inlined into
//! `#[target_feature]` functions, so LLVM vectorises them for AVX-512, AVX2+FMA or the baseline).
//!
//! - [`grad`]: `g[m][j] = Σ_i d[i][m] · x[rows[i]][j]`, the weight gradient of a chunk (outer-product form:
//!   a tile of `UNIT_BLOCK` units × `JB` vectors of columns lives in registers while every row streams by).
//! - [`dot`]: `out[k][m] = Σ_j x[rows[k]][j] · w[m][j]`, the forward pass's partial sums of a chunk (dot form:
//!   a tile of `ROW_BLOCK` rows × `UNIT_BLOCK` units of vector accumulators, summed across lanes at the end).
//!
//! Every sum runs in a fixed order that depends on the shapes only, never on threads. Callers pad: units to a
//! multiple of [`UNIT_BLOCK`] (zero rows of `d` and `w`), columns to a multiple of [`COLUMN_ALIGN`] (zero
//! columns of `x` and `w`), forward rows to a multiple of [`ROW_BLOCK`] (repeated rows whose sums are dropped).

/// Units per register tile in both kernels; the first layer's units are padded to a multiple of it.
pub const UNIT_BLOCK: usize = 5;
/// Rows per register tile of the forward kernel.
pub const ROW_BLOCK: usize = 4;
/// Columns per register tile of the gradient kernel at the widest ISA: chunk widths are multiples of it.
pub const COLUMN_ALIGN: usize = 64;

/// The instruction set the kernels run with, detected at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX-512F and FMA: 16-lane vectors, 32 registers.
    Avx512,
    /// x86-64 with AVX2 and FMA: 8-lane vectors, 16 registers.
    Avx2,
    /// What the target guarantees: SSE2 on x86-64 (no FMA), NEON (with FMA) on aarch64, scalar elsewhere.
    Baseline,
}

impl Isa {
    /// The best the processor has; `POPDECODE_CPU_ISA=avx2|baseline` asks for less (to measure, or to test the
    /// other paths), never more than the processor has.
    pub fn detect() -> Isa {
        let best = Isa::best();
        let wanted = match std::env::var("POPDECODE_CPU_ISA").ok().as_deref() {
            Some("baseline") => Isa::Baseline,
            Some("avx2") => Isa::Avx2,
            _ => best,
        };
        if wanted.available() { wanted } else { best }
    }

    /// Whether this processor can run `self`'s kernels.
    pub fn available(self) -> bool {
        self.rank() <= Isa::best().rank()
    }

    fn rank(self) -> u8 {
        match self {
            Isa::Baseline => 0,
            Isa::Avx2 => 1,
            Isa::Avx512 => 2,
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn best() -> Isa {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            Isa::Avx512
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Isa::Avx2
        } else {
            Isa::Baseline
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn best() -> Isa {
        Isa::Baseline
    }

    /// For people: "AVX-512", "AVX2+FMA", "SSE2", "NEON".
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512",
            Isa::Avx2 => "AVX2+FMA",
            Isa::Baseline if cfg!(target_arch = "x86_64") => "SSE2",
            Isa::Baseline if cfg!(target_arch = "aarch64") => "NEON",
            Isa::Baseline => "scalar",
        }
    }
}

/// Multiply-add: fused where the ISA has it (`mul_add` would call libm's `fmaf` where it has not).
trait Arith {
    fn fma(a: f32, b: f32, c: f32) -> f32;
}

/// One rounding: `a * b + c` as one instruction.
struct Fused;
impl Arith for Fused {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// Two roundings, for x86-64's SSE2 baseline, which has no FMA.
#[allow(dead_code)]
struct Unfused;
impl Arith for Unfused {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

#[inline(always)]
unsafe fn load<const L: usize>(p: *const f32) -> [f32; L] {
    unsafe { (p as *const [f32; L]).read_unaligned() }
}

#[inline(always)]
unsafe fn store<const L: usize>(p: *mut f32, v: [f32; L]) {
    unsafe { (p as *mut [f32; L]).write_unaligned(v) }
}

/// The sum of a vector's lanes, pairwise (halves, quarters, ...), which vectorises.
#[inline(always)]
fn hsum<const L: usize>(mut v: [f32; L]) -> f32 {
    let mut half = L / 2;
    while half > 0 {
        for l in 0..half {
            v[l] += v[l + half];
        }
        half /= 2;
    }
    v[0]
}

/// Runs `f` inside a function compiled for `isa`, so that what inlines into it (an optimizer's elementwise step)
/// is vectorised for that instruction set. No result depends on it: Rust never fuses a multiply and an add unless
/// asked, and sqrt and division are exact in every ISA.
#[inline(always)]
pub fn vectorized<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    match isa {
        // SAFETY: `Isa::detect` chose these only where the processor has them.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { x86::run_avx512(f) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::run_avx2(f) },
        _ => f(),
    }
}

/// The arguments of [`grad`]: raw parts, so one signature serves every ISA's function.
#[derive(Clone, Copy)]
pub struct GradArgs<'a> {
    /// The chunk's rows, each `xs` floats apart.
    pub x: &'a [f32],
    pub xs: usize,
    /// Which chunk row each gradient row is.
    pub rows: &'a [usize],
    /// d loss / d pre-activation, `rows.len()` rows of `ds` floats; the units `m0 .. m0 + units` are used.
    pub d: &'a [f32],
    pub ds: usize,
    pub m0: usize,
    /// Units (a multiple of `UNIT_BLOCK`) and columns (a multiple of `COLUMN_ALIGN`).
    pub units: usize,
    pub width: usize,
}

/// `g[(m - m0) * gs + j] = Σ_i d[i][m] · x[rows[i]][j]` for the units `m0 .. m0 + units` and columns `j < width`.
pub fn grad(isa: Isa, a: GradArgs, g: &mut [f32], gs: usize) {
    assert!(a.units.is_multiple_of(UNIT_BLOCK) && a.width.is_multiple_of(COLUMN_ALIGN));
    assert!(a.width <= a.xs && a.width <= gs && a.m0 + a.units <= a.ds);
    assert!(a.d.len() >= a.rows.len() * a.ds && g.len() >= (a.units.max(1) - 1) * gs + a.width);
    assert!(a.rows.iter().all(|&r| (r + 1) * a.xs <= a.x.len()));
    // SAFETY: the asserts above keep every access in bounds; the target-feature functions run only where
    // `Isa::detect` found their features.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::grad_avx512(a, g.as_mut_ptr(), gs),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::grad_avx2(a, g.as_mut_ptr(), gs),
            _ => baseline::grad(a, g.as_mut_ptr(), gs),
        }
    }
}

/// `out[k * os + (m - m0)] = Σ_{j < width} x[rows[k]][j] · w[m][j]` for `k < rows.len()` (a multiple of
/// `ROW_BLOCK`) and the units `m0 .. m0 + units` (a multiple of `UNIT_BLOCK`), `w`'s rows `ws` floats apart.
#[allow(clippy::too_many_arguments)]
pub fn dot(
    isa: Isa,
    x: &[f32],
    xs: usize,
    rows: &[usize],
    w: &[f32],
    ws: usize,
    units: usize,
    width: usize,
    out: &mut [f32],
    os: usize,
) {
    assert!(units.is_multiple_of(UNIT_BLOCK) && rows.len().is_multiple_of(ROW_BLOCK));
    assert!(width.is_multiple_of(COLUMN_ALIGN) && width <= xs && width <= ws);
    assert!(rows.iter().all(|&r| (r + 1) * xs <= x.len()));
    assert!(units == 0 || (units - 1) * ws + width <= w.len());
    assert!(rows.is_empty() || (rows.len() - 1) * os + units <= out.len());
    let a = DotArgs {
        x: x.as_ptr(),
        xs,
        rows,
        w: w.as_ptr(),
        ws,
        units,
        width,
    };
    // SAFETY: as for `grad`.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::dot_avx512(a, out.as_mut_ptr(), os),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::dot_avx2(a, out.as_mut_ptr(), os),
            _ => baseline::dot(a, out.as_mut_ptr(), os),
        }
    }
}

#[derive(Clone, Copy)]
struct DotArgs<'a> {
    x: *const f32,
    xs: usize,
    rows: &'a [usize],
    w: *const f32,
    ws: usize,
    units: usize,
    width: usize,
}

/// The gradient kernel: for each tile of `UNIT_BLOCK` units × `JB` vectors of `L` columns, every row's `JB`
/// vectors of x times each unit's delta, accumulated in registers, then stored.
#[inline(always)]
unsafe fn grad_generic<A: Arith, const L: usize, const JB: usize>(
    a: GradArgs,
    g: *mut f32,
    gs: usize,
) {
    const MB: usize = UNIT_BLOCK;
    let (x, d) = (a.x.as_ptr(), a.d.as_ptr());
    for mb in (0..a.units).step_by(MB) {
        let mut j0 = 0;
        while j0 < a.width {
            let mut acc = [[[0.0f32; L]; JB]; MB];
            for (i, &r) in a.rows.iter().enumerate() {
                // SAFETY: `grad` checked the bounds.
                let (xp, dp) = unsafe { (x.add(r * a.xs + j0), d.add(i * a.ds + a.m0 + mb)) };
                let mut xv = [[0.0f32; L]; JB];
                for (jb, v) in xv.iter_mut().enumerate() {
                    *v = unsafe { load::<L>(xp.add(jb * L)) };
                }
                for (m, acc_m) in acc.iter_mut().enumerate() {
                    let dv = unsafe { *dp.add(m) };
                    for (acc_v, xv) in acc_m.iter_mut().zip(&xv) {
                        for l in 0..L {
                            acc_v[l] = A::fma(xv[l], dv, acc_v[l]);
                        }
                    }
                }
            }
            for (m, acc_m) in acc.iter().enumerate() {
                for (jb, v) in acc_m.iter().enumerate() {
                    unsafe { store::<L>(g.add((mb + m) * gs + j0 + jb * L), *v) };
                }
            }
            j0 += L * JB;
        }
    }
}

/// The forward kernel: for each tile of `RB` rows × `UNIT_BLOCK` units, vector accumulators over the columns,
/// summed across lanes at the end.
#[inline(always)]
unsafe fn dot_generic<A: Arith, const L: usize, const RB: usize>(
    a: DotArgs,
    out: *mut f32,
    os: usize,
) {
    const MB: usize = UNIT_BLOCK;
    for (tile, rows) in a.rows.chunks_exact(RB).enumerate() {
        // SAFETY: `dot` checked the bounds.
        let xp: [*const f32; RB] = std::array::from_fn(|k| unsafe { a.x.add(rows[k] * a.xs) });
        for mb in (0..a.units).step_by(MB) {
            let wp: [*const f32; MB] = std::array::from_fn(|m| unsafe { a.w.add((mb + m) * a.ws) });
            let mut acc = [[[0.0f32; L]; MB]; RB];
            let mut j = 0;
            while j < a.width {
                let xv: [[f32; L]; RB] =
                    std::array::from_fn(|k| unsafe { load::<L>(xp[k].add(j)) });
                for (m, wp) in wp.iter().enumerate() {
                    let wv = unsafe { load::<L>(wp.add(j)) };
                    for (acc_k, xv) in acc.iter_mut().zip(&xv) {
                        for l in 0..L {
                            acc_k[m][l] = A::fma(xv[l], wv[l], acc_k[m][l]);
                        }
                    }
                }
                j += L;
            }
            for (k, acc_k) in acc.iter().enumerate() {
                for (m, v) in acc_k.iter().enumerate() {
                    unsafe { *out.add((tile * RB + k) * os + mb + m) = hsum(*v) };
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn run_avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    // 5 x 4 accumulators of 16 lanes and 4 of x: 24 of the 32 zmm registers.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn grad_avx512(a: GradArgs, g: *mut f32, gs: usize) {
        unsafe { grad_generic::<Fused, 16, 4>(a, g, gs) }
    }

    // 4 x 5 accumulators of 16 lanes, 4 of x and one of w: 25 zmm registers.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn dot_avx512(a: DotArgs, out: *mut f32, os: usize) {
        unsafe { dot_generic::<Fused, 16, 4>(a, out, os) }
    }

    // 5 x 2 accumulators of 8 lanes and 2 of x: 12 of the 16 ymm registers.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn grad_avx2(a: GradArgs, g: *mut f32, gs: usize) {
        unsafe { grad_generic::<Fused, 8, 2>(a, g, gs) }
    }

    // 2 x 5 accumulators of 8 lanes, 2 of x and one of w: 13 ymm registers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_avx2(a: DotArgs, out: *mut f32, os: usize) {
        unsafe { dot_generic::<Fused, 8, 2>(a, out, os) }
    }
}

mod baseline {
    use super::*;

    #[cfg(target_arch = "aarch64")]
    type Baseline = Fused;
    #[cfg(not(target_arch = "aarch64"))]
    type Baseline = Unfused;

    pub unsafe fn grad(a: GradArgs, g: *mut f32, gs: usize) {
        unsafe { grad_generic::<Baseline, 4, 2>(a, g, gs) }
    }

    pub(super) unsafe fn dot(a: DotArgs, out: *mut f32, os: usize) {
        unsafe { dot_generic::<Baseline, 4, 2>(a, out, os) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isas() -> Vec<Isa> {
        [Isa::Baseline, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.available())
            .collect()
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn both_kernels_match_plain_sums_on_every_isa() {
        let (xs, width, n_rows, units, ds) = (192, 128, 11, 10, 12);
        let x = data(n_rows * xs, 1);
        let rows: Vec<usize> = (0..8).map(|k| (k * 3) % n_rows).collect();
        let d = data(rows.len() * ds, 2);
        let w = data(units * 130, 3);
        for isa in isas() {
            let mut g = vec![0.0; units * 140];
            let args = GradArgs {
                x: &x,
                xs,
                rows: &rows,
                d: &d,
                ds,
                m0: 2,
                units,
                width,
            };
            grad(isa, args, &mut g, 140);
            for m in 0..units {
                for j in 0..width {
                    let want: f64 = rows
                        .iter()
                        .enumerate()
                        .map(|(i, &r)| d[i * ds + 2 + m] as f64 * x[r * xs + j] as f64)
                        .sum();
                    assert!(
                        (g[m * 140 + j] as f64 - want).abs() < 1e-4,
                        "{isa:?} grad {m} {j}"
                    );
                }
            }
            let mut out = vec![0.0; rows.len() * 13];
            dot(isa, &x, xs, &rows, &w, 130, units, width, &mut out, 13);
            for (k, &r) in rows.iter().enumerate() {
                for m in 0..units {
                    let want: f64 = (0..width)
                        .map(|j| x[r * xs + j] as f64 * w[m * 130 + j] as f64)
                        .sum();
                    assert!(
                        (out[k * 13 + m] as f64 - want).abs() < 1e-3,
                        "{isa:?} dot {k} {m}"
                    );
                }
            }
        }
    }
}
