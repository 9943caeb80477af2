// The register tile of forward_first and grad_first, filled in by src/gpu/runtime/wgsl.rs's `expand`: ROW_TILE step
// rows x HIDDEN_TILE first-layer units per forward_first workgroup; HIDDEN_TILE units x COL_TILE vec4 columns per
// grad_first thread.
const ROW_TILE: u32 = $ROW_TILE;
const HIDDEN_TILE: u32 = $HIDDEN_TILE;
const COL_TILE: u32 = $COL_TILE;
