//! How a kernel's WGSL is put together, in two steps and no others:
//!
//! 1. `#import PATH` lines (a line of its own, PATH relative to `shaders/`) are replaced by that file, each file
//!    once per module, depth first ([`compose`]). Files come from tables of `include_str!`s, one per room
//!    (`COMMON` here, the tutorial's and the general path's in theirs), and Rust may add generated files (an
//!    optimizer's step, a struct's declaration) under names of its own.
//! 2. The register-tile notation ([`expand`]): a line that mentions `$r`, `$h` or `$c` is repeated for each
//!    row, hidden unit or column of the tile (nested in that order), with the index put in its place;
//!    `$ROW_TILE`, `$HIDDEN_TILE` and `$COL_TILE` become the tile's sizes. Unrolled scalar-named accumulators,
//!    not indexed arrays, are what drivers keep in registers.
//!
//! What varies per problem (shapes, switches) is given to the pipeline as override constants.
//!
//! naga_oil (Bevy's composer) was considered for step 1: it builds against its own naga release, not wgpu 30's
//! naga, and hands back a naga module rather than text, which the tile notation of step 2 needs; the forty
//! lines of [`compose`] do what is needed.

use crate::error::Error;

type Result<T> = crate::error::Result<T>;

/// The WGSL every room shares, by path under `shaders/`.
pub const COMMON: &[(&str, &str)] = &[
    (
        "common/workgroup_sum.wgsl",
        include_str!("../../../shaders/common/workgroup_sum.wgsl"),
    ),
    (
        "common/act.wgsl",
        include_str!("../../../shaders/common/act.wgsl"),
    ),
    (
        "common/tiles.wgsl",
        include_str!("../../../shaders/common/tiles.wgsl"),
    ),
    (
        "common/hsum.wgsl",
        include_str!("../../../shaders/common/hsum.wgsl"),
    ),
    (
        "common/probe.wgsl",
        include_str!("../../../shaders/common/probe.wgsl"),
    ),
];

/// `workgroup_sum`, which every kernel file uses.
pub const WORKGROUP_SUM: &str = COMMON[0].1;

/// `entry` with its `#import`s resolved from `tables` (searched in order), each file once.
pub fn compose(entry: &str, tables: &[&[(&str, &str)]]) -> Result<String> {
    fn add(
        path: &str,
        tables: &[&[(&str, &str)]],
        seen: &mut Vec<String>,
        out: &mut String,
        depth: usize,
    ) -> Result<()> {
        if seen.iter().any(|s| s == path) {
            return Ok(());
        }
        if depth > 16 {
            return Err(Error::Usage(format!(
                "WGSL: imports nest too deep at {path:?}"
            )));
        }
        let text = tables
            .iter()
            .flat_map(|t| t.iter())
            .find(|(p, _)| *p == path)
            .map(|(_, t)| *t)
            .ok_or_else(|| Error::Usage(format!("WGSL: no shader file {path:?} to import")))?;
        seen.push(path.to_string());
        for line in text.lines() {
            match line.trim().strip_prefix("#import ") {
                Some(dep) => add(dep.trim(), tables, seen, out, depth + 1)?,
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        Ok(())
    }
    let mut out = String::new();
    add(entry, tables, &mut Vec::new(), &mut out, 0)?;
    Ok(out)
}

/// `@workgroup_size` of the kernels that are dispatched over many threads.
pub const WORKGROUP: usize = 64;

/// The register tile of the two big kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiles {
    /// Rows per forward_partial thread.
    pub row: usize,
    /// Hidden units per thread in forward_partial and input_grad.
    pub hidden: usize,
    /// vec4 columns per input_grad thread.
    pub col: usize,
}

impl Tiles {
    /// For GPUs: small tiles, many threads in flight.
    pub const GPU: Tiles = Tiles {
        row: 4,
        hidden: 5,
        col: 1,
    };
    /// For software adapters, which run a workgroup's threads as SIMD lanes on a CPU core and pay for every
    /// storage-buffer load lane by lane: large tiles, fewer loads per multiply-add (measured on lavapipe:
    /// 12 x 10 at M = 10, 12 x 20 at M = 200).
    pub const SOFTWARE: Tiles = Tiles {
        row: 12,
        hidden: 10,
        col: 4,
    };

    /// The tiles for an adapter of this type and a network of `hidden` units.
    pub fn for_device(device_type: wgpu::DeviceType, hidden: usize) -> Tiles {
        if device_type != wgpu::DeviceType::Cpu {
            return Tiles::GPU;
        }
        // The widest hidden tile that pads the hidden units by at most a tenth; exact for tiny networks.
        let fits = |h: usize| hidden.next_multiple_of(h) * 10 <= hidden * 11;
        let h = match [20, 10, 5].into_iter().find(|&h| fits(h)) {
            Some(h) => h,
            None if hidden < 5 => hidden,
            None => 5,
        };
        Tiles {
            hidden: h,
            ..Tiles::SOFTWARE
        }
    }
}

impl std::str::FromStr for Tiles {
    type Err = String;

    /// "ROW,HIDDEN,COL", e.g. "4,5,1".
    fn from_str(s: &str) -> std::result::Result<Tiles, String> {
        let parts: Vec<usize> = s
            .split(',')
            .map(|p| p.trim().parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| format!("expected ROW,HIDDEN,COL as three whole numbers, got {s:?}"))?;
        match parts[..] {
            [row, hidden, col]
                if (1..=32).contains(&row)
                    && (1..=32).contains(&hidden)
                    && (1..=8).contains(&col) =>
            {
                Ok(Tiles { row, hidden, col })
            }
            _ => Err(format!(
                "expected ROW,HIDDEN,COL with rows and hidden units 1..=32 and columns 1..=8, got {s:?}"
            )),
        }
    }
}

/// Workgroups of `WORKGROUP` threads for `threads` threads, as a 2-D grid within `max_per_dim`.
pub fn grid(threads: usize, max_per_dim: usize) -> (u32, u32) {
    let groups = threads.div_ceil(WORKGROUP);
    let x = groups.min(max_per_dim);
    (x as u32, groups.div_ceil(x.max(1)) as u32)
}

/// Expands the tile notation of a kernel template (see the module's documentation).
pub fn expand(template: &str, tiles: Tiles) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    for line in template.lines() {
        let line = line
            .replace("$ROW_TILE", &format!("{}u", tiles.row))
            .replace("$HIDDEN_TILE", &format!("{}u", tiles.hidden))
            .replace("$COL_TILE", &format!("{}u", tiles.col));
        let mut lines = vec![line];
        for (mark, count) in [("$r", tiles.row), ("$h", tiles.hidden), ("$c", tiles.col)] {
            lines = lines
                .into_iter()
                .flat_map(|l| {
                    if l.contains(mark) {
                        (0..count)
                            .map(|i| l.replace(mark, &i.to_string()))
                            .collect()
                    } else {
                        vec![l]
                    }
                })
                .collect();
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Tiles = Tiles {
        row: 2,
        hidden: 3,
        col: 2,
    };

    #[test]
    fn imports_are_inlined_once_depth_first() {
        let table: &[(&str, &str)] = &[
            ("a.wgsl", "#import b.wgsl\n#import c.wgsl\nfn a() {}"),
            ("b.wgsl", "#import c.wgsl\nfn b() {}"),
            ("c.wgsl", "fn c() {}"),
        ];
        assert_eq!(
            compose("a.wgsl", &[table]).unwrap(),
            "fn c() {}\nfn b() {}\nfn a() {}\n"
        );
        assert!(compose("nope.wgsl", &[table]).is_err());
    }

    #[test]
    fn lines_are_repeated_per_tile_index_nested_row_hidden_column() {
        let got = expand("a\nlet x$r = 0;\nacc$r_$h += x$r * w$h;\n b", T);
        assert_eq!(
            got,
            "a\nlet x0 = 0;\nlet x1 = 0;\n\
             acc0_0 += x0 * w0;\nacc0_1 += x0 * w1;\nacc0_2 += x0 * w2;\n\
             acc1_0 += x1 * w0;\nacc1_1 += x1 * w1;\nacc1_2 += x1 * w2;\n b\n"
        );
        assert_eq!(
            expand("g$c_$h;", Tiles { hidden: 2, ..T }),
            "g0_0;\ng1_0;\ng0_1;\ng1_1;\n"
        );
    }

    #[test]
    fn sizes_become_unsigned_literals() {
        assert_eq!(
            expand(
                "const R = $ROW_TILE; const H = $HIDDEN_TILE; const C = $COL_TILE;",
                T
            ),
            "const R = 2u; const H = 3u; const C = 2u;\n"
        );
    }

    #[test]
    fn software_tiles_follow_the_width_and_gpu_tiles_do_not() {
        use wgpu::DeviceType::{Cpu, DiscreteGpu};
        let h = |m| Tiles::for_device(Cpu, m).hidden;
        assert_eq!(
            (h(1), h(3), h(10), h(13), h(20), h(200), h(1000), h(30)),
            (1, 3, 10, 5, 20, 20, 20, 10)
        );
        assert_eq!(Tiles::for_device(DiscreteGpu, 200), Tiles::GPU);
    }

    #[test]
    fn tiles_parse_from_the_command_line() {
        assert_eq!("4,5,1".parse::<Tiles>(), Ok(Tiles::GPU));
        assert!("4,5".parse::<Tiles>().is_err());
        assert!("0,5,1".parse::<Tiles>().is_err());
        assert!("a,b,c".parse::<Tiles>().is_err());
    }
}
