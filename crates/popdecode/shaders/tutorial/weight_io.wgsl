// The bindings of the input layer's weight gradient over one column panel.

#import tutorial/shapes.wgsl

@group(0) @binding(11) var<uniform> panel: Panel;
@group(0) @binding(12) var<storage, read> x: array<vec4<f32>>;
// in_layer.weight (training), or where its gradient goes (checks)
@group(0) @binding(13) var<storage, read_write> w1: array<vec4<f32>>;
