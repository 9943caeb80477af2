// The bindings of the forward pass over one column panel: x and w1 in, split-K partial sums out.

#import tutorial/shapes.wgsl

@group(0) @binding(0) var<uniform> panel: Panel;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
