// Shapes of a stack of K networks of one hidden layer trained together (src/gpu/stack/), fixed per pipeline
// through override constants; every kernel file of the stack imports it.
//
// Layouts (row-major):
//   x        R_PAD x C4 vec4s: every row of the stack x the union of its columns, zero-padded
//   w1       KM_PAD x C4 vec4s: member k's in_layer.weight in rows k*M .. k*M + M, each in the stack's column
//            space (zero outside its neurons); v1, its momentum, alike
//   mask     K x C4 vec4s: 1 where member k reads the column, 0 elsewhere (those weights are never stepped)
//   sp       the small parameters: b1 (KM_PAD), then each member's out_layer.weight (O x M), then each
//            member's out_layer.bias (O); sv, their momentum, alike
//   partial  KT x R_PAD x KM_PAD split-K partial sums of x . w1
//   hid      R_PAD x KM_PAD hidden activations; delta alike, d loss / d pre-activation (0 off the training rows)
//   outs     R x K x O outputs as reported (log-probabilities for NLL); dout alike, d loss / d raw output
//   rowloss  K x R each row's loss under each member; role K x R: bit 0 a training row, bit 1 a test row
//   hist     per state (weights after an update), per member: (training objective, test objective)
// Every sum runs in a fixed order (no float atomics), so results repeat exactly.

override R: u32 = 1u;          // rows of the stack's matrix
override R_PAD: u32 = 1u;      // rows stored: R rounded up to ROW_TILE
override C4: u32 = 1u;         // vec4 columns
override K: u32 = 1u;          // members
override M: u32 = 1u;          // hidden units of each member
override KM_PAD: u32 = 1u;     // K * M rounded up to HIDDEN_TILE
override O: u32 = 1u;          // outputs of each member
override KT: u32 = 1u;         // split-K threads of stack_forward
override NU: u32 = 1u;         // rows that are some member's training row (the union's index list)
override NLL: bool = false;    // LogSoftmax + NLL on the row's class; else MSE on degrees
override RELU: bool = true;    // the hidden nonlinearity: ReLU, or the identity
override MOMENTUM: bool = false; // some member has momentum: v1 and sv are real buffers

// One member's training settings (Rust's `HyperRow`).
struct Hyper {
    lr: f32,
    momentum: f32,
    l1: f32,
    l2: f32,
    inv_train: f32,  // 1 / its training rows
    inv_test: f32,   // 1 / its test rows
    pad0: f32,
    pad1: f32,
}

#import common/act.wgsl
#import common/tiles.wgsl

// Threads of a 1-D job dispatched as a 2-D grid of 64-thread workgroups (src/gpu/runtime/wgsl.rs's `grid`).
fn thread_id(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}
