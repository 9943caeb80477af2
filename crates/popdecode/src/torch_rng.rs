//! PyTorch's CPU generator, bit for bit: `torch.manual_seed`, `torch.randperm`, `Tensor.uniform_` (float32) and
//! `nn.Linear`'s default initialisation, so that a seed means here what it means in the tutorial.
//!
//! What PyTorch does (2.15; the rules below have not changed in years), from its source:
//! - `torch.manual_seed(s)` re-creates the default CPU generator's engine, `at::mt19937(s)`
//!   (aten/src/ATen/core/MT19937RNGEngine.h): the Mersenne Twister MT19937 of Matsumoto and Nishimura, seeded as
//!   `std::mt19937` seeds it (`init_genrand`), from the low 32 bits of the seed only (`seed & 0xffffffff`, so
//!   2**32 + 5 and 5 give the same stream). Its outputs are `std::mt19937`'s, one 32-bit word per call
//!   (`random()`); `random64()` is two of them, the first as the high half (CPUGeneratorImpl.cpp).
//!   Written out by hand below (about 40 lines) rather than taken from a crate, so that nothing about the seeding
//!   rests on a dependency; a unit test holds the C++ standard's check value (the 10000th output of a default
//!   `std::mt19937` is 4123659995).
//! - `torch.randperm(n)` (aten/src/ATen/native/TensorFactories.cpp, `randperm_cpu`): for
//!   `n < u32::MAX / 20` (n below 214,748,364), start from 0..n and for i in 0..n-1 draw one 32-bit word,
//!   `z = random() % (n - i)`, and swap `r[i]` with `r[i + z]` (n - 1 draws; none for n = 1). From
//!   214,748,364 up it is the "inside-out" Fisher-Yates with 64-bit draws: for i in 0..n,
//!   `z = random64() % (i + 1)`, `r[i] = r[z]`, `r[z] = i`. (The fixture checks n up to 100,000; the large-n
//!   branch is written from the source only: its smallest case needs 1.7 GB of int64.)
//! - `Tensor.uniform_(from, to)` on a float32 tensor (aten/src/ATen/native/cpu/DistributionTemplates.h
//!   `uniform_kernel`, core/DistributionsHelper.h `uniform_real_distribution`, core/TransformationHelper.h
//!   `uniform_real`): `from` and `to` arrive as doubles and are cast to float; each element, in memory order,
//!   takes one 32-bit word, keeps its low 24 bits, `x = (word & 0xffffff) * 2^-24` (exact in float), and returns
//!   `x * (to - from) + from` in float; a value that rounds up to `to` is replaced by `from` (the kernel's clamp,
//!   so the interval stays half-open). That last line is compiled with contraction allowed, and the kernel is
//!   built once per CPU capability: the AVX2 and AVX512 builds (what PyTorch dispatches to on any x86-64 CPU of
//!   the last decade, and on this machine) fuse it into one multiply-add, `fmaf(x, to - from, from)`, a single
//!   rounding. We do the same (`f32::mul_add`). Checked against PyTorch 2.15 on `nn.Linear(23589, 10)` after
//!   `torch.manual_seed(1)`: the fused form matches all 235,890 weights; the unfused one (two roundings) misses
//!   122,728 of them by an ulp, and is what PyTorch itself gives under `ATEN_CPU_CAPABILITY=default` (the
//!   fixture records the capability it was made with).
//! - `nn.Linear(in, out)` (torch/nn/modules/linear.py `reset_parameters`): `kaiming_uniform_(weight,
//!   a=sqrt(5))`, that is `uniform_(-b, b)` with `b = sqrt(3) * (gain / sqrt(in))` and
//!   `gain = sqrt(2 / (1 + a**2))`, computed in Python floats (f64) exactly in that order; then
//!   `uniform_(bias, -1/sqrt(in), 1/sqrt(in))`. The weight (out x in, row-major) takes its out * in words first,
//!   the bias its out words next.

/// The MT19937 engine as `at::mt19937` (and `std::mt19937`) runs it.
#[derive(Clone)]
struct Mt19937 {
    state: [u32; 624],
    /// The next word of `state` to temper; 624 means the state must be regenerated first.
    next: usize,
}

impl Mt19937 {
    const N: usize = 624;
    const M: usize = 397;

    fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; 624];
        state[0] = seed;
        for j in 1..Self::N {
            let prev = state[j - 1];
            state[j] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(j as u32);
        }
        Mt19937 {
            state,
            next: Self::N,
        }
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..Self::N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % Self::N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + Self::M) % Self::N] ^ (y >> 1) ^ mag;
        }
        self.next = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.next >= Self::N {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

/// PyTorch's default CPU generator after `torch.manual_seed(seed)`.
#[derive(Clone)]
pub struct TorchGenerator {
    engine: Mt19937,
}

/// Below this `n`, `randperm` draws 32-bit words; from it up, 64-bit ones (`std::numeric_limits<uint32_t>::max() /
/// 20` in `randperm_cpu`).
pub const RANDPERM_32_BIT_BELOW: usize = (u32::MAX / 20) as usize;

impl TorchGenerator {
    /// `torch.manual_seed(seed)`: only the low 32 bits reach the engine, as in PyTorch.
    pub fn manual_seed(seed: u64) -> TorchGenerator {
        TorchGenerator {
            engine: Mt19937::new(seed as u32),
        }
    }

    /// One 32-bit word (`CPUGeneratorImpl::random`).
    pub fn random(&mut self) -> u32 {
        self.engine.next_u32()
    }

    /// Two words, the first as the high half (`CPUGeneratorImpl::random64`).
    pub fn random64(&mut self) -> u64 {
        let hi = self.random() as u64;
        let lo = self.random() as u64;
        (hi << 32) | lo
    }

    /// `torch.randperm(n)` on the CPU.
    pub fn randperm(&mut self, n: usize) -> Vec<usize> {
        if n < RANDPERM_32_BIT_BELOW {
            let mut r: Vec<usize> = (0..n).collect();
            for i in 0..n.saturating_sub(1) {
                let z = self.random() as usize % (n - i);
                r.swap(i, i + z);
            }
            r
        } else {
            let mut r = vec![0usize; n];
            for i in 0..n {
                let z = (self.random64() % (i as u64 + 1)) as usize;
                r[i] = r[z];
                r[z] = i;
            }
            r
        }
    }

    /// `torch.empty(n).uniform_(from, to)` in float32: `from` and `to` are the Python floats PyTorch receives.
    pub fn uniform_f32(&mut self, n: usize, from: f64, to: f64) -> Vec<f32> {
        let (from, to) = (from as f32, to as f32);
        let range = to - from;
        const DIVISOR: f32 = 1.0 / (1u32 << 24) as f32;
        (0..n)
            .map(|_| {
                let x = (self.random() & 0x00ff_ffff) as f32 * DIVISOR;
                let v = x.mul_add(range, from);
                if v == to { from } else { v }
            })
            .collect()
    }

    /// A freshly built `nn.Linear(inputs, outputs)`: (weight, outputs x inputs row-major; bias).
    pub fn linear_init(&mut self, inputs: usize, outputs: usize) -> (Vec<f32>, Vec<f32>) {
        let weight = self.uniform_f32(
            outputs * inputs,
            -kaiming_uniform_bound(inputs),
            kaiming_uniform_bound(inputs),
        );
        let bound = linear_bias_bound(inputs);
        let bias = self.uniform_f32(outputs, -bound, bound);
        (weight, bias)
    }
}

/// `kaiming_uniform_(w, a=math.sqrt(5))`'s bound for a fan-in of `fan_in`, in Python's f64 arithmetic and order:
/// `gain = math.sqrt(2.0 / (1 + a**2))`, `std = gain / math.sqrt(fan)`, `bound = math.sqrt(3.0) * std`. (It is
/// 1/sqrt(fan_in) up to an ulp or two, but the ulp decides the float32 bound's rounding, so it is kept.)
pub fn kaiming_uniform_bound(fan_in: usize) -> f64 {
    let a = 5f64.sqrt();
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    let std = gain / (fan_in as f64).sqrt();
    3f64.sqrt() * std
}

/// `nn.Linear`'s bias bound: `1 / math.sqrt(fan_in)` (0 for no inputs, as PyTorch).
pub fn linear_bias_bound(fan_in: usize) -> f64 {
    if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_gives_the_standards_check_value() {
        // [rand.predef]: the 10000th consecutive invocation of a default-constructed std::mt19937 (seed 5489)
        // produces 4123659995.
        let mut g = TorchGenerator::manual_seed(5489);
        let last = (0..10_000).map(|_| g.random()).last().unwrap();
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn only_the_low_32_bits_of_the_seed_count() {
        let mut a = TorchGenerator::manual_seed((1 << 32) + 5);
        let mut b = TorchGenerator::manual_seed(5);
        assert_eq!(a.randperm(50), b.randperm(50));
    }

    #[test]
    fn the_tutorials_split_starts_as_pytorchs() {
        // torch.manual_seed(4); torch.randperm(360): 130, 137, 169, 83, ...; test rows (from 216) 304, 140, 42.
        let p = TorchGenerator::manual_seed(4).randperm(360);
        assert_eq!(p[..4], [130, 137, 169, 83]);
        assert_eq!(p[216..219], [304, 140, 42]);
    }

    #[test]
    fn randperm_of_one_or_none_draws_nothing() {
        let mut g = TorchGenerator::manual_seed(0);
        assert_eq!(g.randperm(0), Vec::<usize>::new());
        assert_eq!(g.randperm(1), [0]);
        assert_eq!(g.random(), TorchGenerator::manual_seed(0).random());
    }

    #[test]
    fn uniform_stays_in_its_half_open_interval() {
        let mut g = TorchGenerator::manual_seed(3);
        let v = g.uniform_f32(10_000, -0.25, 0.5);
        assert!(v.iter().all(|&x| (-0.25..0.5).contains(&x)));
    }

    #[test]
    fn kaiming_with_a_sqrt5_is_one_over_sqrt_fan_in_give_or_take_an_ulp() {
        for fan in [1, 10, 23589] {
            let (k, b) = (kaiming_uniform_bound(fan), linear_bias_bound(fan));
            assert!((k - b).abs() <= 4.0 * f64::EPSILON * b, "{fan}: {k} vs {b}");
        }
    }
}
