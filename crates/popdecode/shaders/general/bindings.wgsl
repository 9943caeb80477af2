// The general path's shapes, uniforms and buffers (src/gpu/general/), which every kernel file imports. Rust binds
// buffers by the names below (src/gpu/general/shaders.rs reads the binding numbers from this file), and the
// `Step` and `Layer` structs are checked member by member against Rust's `StepUniform` and `LayerUniform`
// (tests/wgsl_layouts.rs).
//
// The neurons are cut into column panels of N4 vec4s, each panel's x and W_in in buffers of their own, so that
// every binding stays under the adapter's limit; the kernels over W_in's columns run once per panel, in order,
// PANEL_FIRST and PANEL_LAST saying which panel it is (both true with one panel).
//
// Layouts (row-major, f32 unless said):
//   x        N_ROWS x N4 vec4s, the panel's columns: training rows, then test rows; zero-padded past the last
//            neuron
//   index    u32 row numbers of x: a step's rows are index[row_base .. row_base + rows]
//   params   the panel's W_in (M0 x N4 vec4s: its columns of PyTorch's in_layer.weight, each row zero-padded to
//            the panel's width) at 0; in the first panel's buffer (params_r, bound from every panel) b_in
//            follows at WIN_LEN, then each later layer's weight (outputs x inputs) and bias at the offsets in its
//            Layer uniform; grads alike
//   state    the optimizer's moment tensors, each laid out as params: moment k of parameter i at k * P_LEN + i
//   acts     per layer a block of rows x outputs at the layer's out_off: hidden layers' activations after the
//            nonlinearity, the last layer's raw outputs (LAST_OFF); deltas alike, d loss / d pre-activation.
//            Between forward_first's panels the first block holds the sums over the panels so far
//   outs     (training + test rows) x CLASSES: the outputs as reported (log-probabilities for NLL)
//   history  (train, test) loss of each epoch, then the training loss at the final weights
// Every sum runs in a fixed order (no float atomics), so results repeat exactly.

override N4: u32 = 1u;           // vec4 columns of a panel of x and of W_in's rows
override M0: u32 = 1u;           // units of the first layer
override CLASSES: u32 = 1u;      // outputs of the last layer
override LAST_OFF: u32 = 0u;     // the last layer's block in acts and deltas
override WIN_LEN: u32 = 4u;      // f32s in a panel's W_in, M0 * N4 * 4; b_in follows it in the first
override P_LEN: u32 = 8u;        // f32s in the panel's params
override RELU: bool = true;      // the hidden nonlinearity: ReLU, or the identity
override L1: f32 = 0.0;          // penalty l1 * sum |W_in|
override L2: f32 = 0.0;          // penalty l2 * sum W_in^2
override PEN_GROUPS: u32 = 1u;   // penalty_partial workgroups
override PEN_CHUNK4: u32 = 1u;   // vec4s of W_in per penalty_partial workgroup
override PANEL_FIRST: bool = true; // the kernel runs on the first column panel
override PANEL_LAST: bool = true;  // the kernel runs on the last column panel

// One step, in its own 256-byte slot of a uniform buffer bound with a dynamic offset.
struct Step {
    row_base: u32,    // the step's rows are index[row_base ..]
    rows: u32,
    out_base: u32,    // the row of outs where its outputs go
    loss_slot: u32,   // the history entry its loss goes to
    accumulate: u32,  // 1: add to the entry (an epoch's later batches); 0: overwrite it
    weight: f32,      // the loss's weight in the entry: batch rows / training rows, or 1
    opt: vec4<f32>,   // the optimizer's scalars for this step (`Rule::scalars`; its WGSL says what they are)
}

// One layer, in its own 256-byte slot.
struct Layer {
    inputs: u32,
    outputs: u32,
    w_off: u32,       // weight and bias in params (and grads)
    b_off: u32,
    in_off: u32,      // the block of acts this layer reads (the previous layer's)
    out_off: u32,     // the block of acts and deltas it writes
    hidden: u32,      // 1: the nonlinearity follows (every layer but the last)
    first: u32,       // 1: the input layer, whose weight gradient is grad_first's
}

@group(0) @binding(0) var<uniform> st: Step;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read> targets: array<f32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read> params4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> params_r: array<f32>;
@group(0) @binding(8) var<storage, read_write> params_w: array<f32>;
@group(0) @binding(9) var<storage, read_write> acts_w: array<f32>;
@group(0) @binding(10) var<storage, read> acts_r: array<f32>;
@group(0) @binding(11) var<storage, read_write> deltas_w: array<f32>;
@group(0) @binding(12) var<storage, read> deltas_r: array<f32>;
@group(0) @binding(13) var<storage, read_write> grads4_w: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> grads_w: array<f32>;
@group(0) @binding(15) var<storage, read_write> state: array<f32>;
@group(0) @binding(16) var<storage, read_write> outs: array<f32>;
@group(0) @binding(17) var<storage, read_write> history: array<f32>;
@group(0) @binding(18) var<storage, read_write> pen_partials_w: array<f32>;
@group(0) @binding(19) var<storage, read> pen_partials_r: array<f32>;
@group(0) @binding(20) var<storage, read_write> scalars_w: array<f32>;
@group(0) @binding(21) var<storage, read> scalars_r: array<f32>;
