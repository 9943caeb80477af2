// The sum of a vec4's lanes, in a fixed order.
fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}
