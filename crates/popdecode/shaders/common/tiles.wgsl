// A kernel's register tile, filled in by src/gpu/runtime/wgsl.rs's `expand`: ROW_TILE rows, HIDDEN_TILE hidden
// units and COL_TILE vec4 columns. What each means in a kernel, its file says (tutorial: forward_partial's rows x
// units and input_grad's units x columns; general: forward_first's and grad_first's).
const ROW_TILE: u32 = $ROW_TILE;
const HIDDEN_TILE: u32 = $HIDDEN_TILE;
const COL_TILE: u32 = $COL_TILE;
