// The hidden nonlinearity: ReLU (the tutorial's DeepNetReLU) or the identity (its DeepNet), as the importing
// path's override constant RELU says.
fn act(pre: f32) -> f32 {
    return select(pre, max(pre, 0.0), RELU);
}
