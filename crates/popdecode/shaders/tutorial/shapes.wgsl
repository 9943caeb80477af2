// Shapes of one training problem, fixed per pipeline through override constants. Every kernel file of the
// tutorial path imports it, so one set of constants serves every pipeline. Lines with a tile marker (a dollar
// sign before r, h or c) are repeated for each row, hidden unit or column of the register tile
// (src/gpu/runtime/wgsl.rs).
//
// Layouts (row-major):
//   x        R_PAD x width4 vec4s per column panel: training rows first, then test rows, then zero rows
//   w1       M_PAD x width4 vec4s per panel (PyTorch's in_layer.weight, zero-padded)
//   partial  K_TOTAL x R_PAD x M_PAD split-K partial sums of x . w1
//   hid      R_PAD x M_PAD hidden activations
//   delta    N_TRAIN x M_PAD d loss / d hidden pre-activation (written by forward_rows)
// Padded rows and hidden units hold zeros and stay zero: their weights get zero gradients.

override N_TRAIN: u32 = 1u;        // training rows, the first rows of x
override N_ROWS: u32 = 1u;         // training + test rows
override R_PAD: u32 = 12u;         // rows stored: N_ROWS rounded up to a multiple of ROW_TILE
override M_PAD: u32 = 10u;         // hidden units stored: M rounded up to a multiple of HIDDEN_TILE
override K_TOTAL: u32 = 1u;        // split-K partial sums per (row, hidden unit), over all panels
override RELU: bool = true;        // the hidden nonlinearity: ReLU, or the identity (the tutorial's DeepNet)
override APPLY_UPDATE: bool = true; // SGD in place (training), or store the gradient (checks)
override WG_REDUCE: bool = false;  // forward_partial adds its threads' sums in workgroup memory before writing
override K_LANES: u32 = 64u;       // with WG_REDUCE: split-K threads of one tile per workgroup (a divisor of 64)
override FORWARD_UNROLL: bool = false; // forward_partial loads two steps of columns ahead of their multiply-adds
override TILE_SUMS: u32 = 1u;      // 64 * TILE_OUTPUTS with WG_REDUCE, else 1 (workgroup memory)
override ROW_SPLIT: u32 = 1u;      // input_grad threads sharing one column's training rows (a divisor of 64)
override GRAD_SUMS: u32 = 1u;      // 64 * COL_TILE * HIDDEN_TILE with ROW_SPLIT > 1, else 1 (workgroup memory)
override GRAD_UNROLL: bool = false; // input_grad loads four training rows ahead of their multiply-adds

// ROW_TILE rows per forward_partial thread, HIDDEN_TILE hidden units per forward_partial and input_grad thread,
// COL_TILE vec4 columns per input_grad thread.
#import common/tiles.wgsl
const TILE_OUTPUTS: u32 = ROW_TILE * HIDDEN_TILE;

// A column panel of x and w1: which vec4 columns it holds, and how its split-K threads are numbered.
struct Panel {
    width4: u32,     // vec4 columns in this panel
    k_threads: u32,  // split-K threads over this panel's columns
    k_offset: u32,   // index of this panel's first partial sum among all K_TOTAL
    small_groups: u32, // input_grad's leading workgroups that do small_grad's work (0: it is dispatched alone)
}

struct Hyper {
    lr: f32,
    pad0: f32,
    pad1: f32,
    pad2: f32,
}

#import common/act.wgsl
