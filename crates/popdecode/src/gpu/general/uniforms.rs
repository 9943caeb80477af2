//! The general path's uniform blocks as Rust writes them: `Step` and `Layer` of `shaders/general/bindings.wgsl`.
//! tests/wgsl_layouts.rs parses that file with naga and checks every member's offset and type, and each struct's
//! size, against these, so the two cannot drift apart.

/// The uniform block `Step`: one step's scalars, in a slot of its own.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepUniform {
    pub row_base: u32,
    pub rows: u32,
    pub out_base: u32,
    pub loss_slot: u32,
    pub accumulate: u32,
    pub weight: f32,
    /// WGSL aligns `opt`, a vec4, to 16 bytes.
    pub pad: [u32; 2],
    /// The optimizer's scalars for this step (`optim::Rule::scalars`).
    pub opt: [f32; 4],
}

/// The uniform block `Layer`: where one layer lives in the flat buffers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerUniform {
    pub inputs: u32,
    pub outputs: u32,
    pub w_off: u32,
    pub b_off: u32,
    pub in_off: u32,
    pub out_off: u32,
    pub hidden: u32,
    pub first: u32,
}

/// Bytes per slot of the step and layer uniform buffers: a multiple of every adapter's uniform offset alignment.
pub const SLOT: usize = 256;

const _: () = assert!(size_of::<StepUniform>() <= SLOT && size_of::<LayerUniform>() <= SLOT);
