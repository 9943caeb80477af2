//! The users' circular loss on one output in degrees: the mean of |exp(i θ̂) - exp(i θ)| with the angles in
//! radians, which does not punish decoding 359° for 1°.

use std::f64::consts::PI;

use super::Loss;

pub const NAME: &str = "circular";
pub const LABEL: &str = "circular loss |exp(iθ̂) − exp(iθ)|";

pub struct Circular;

impl Loss for Circular {
    fn name(&self) -> &'static str {
        NAME
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn loss_and_grad(&self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>) {
        let rows = targets.len() as f64;
        let mut loss = 0.0;
        let grad = raw
            .iter()
            .zip(targets)
            .map(|(&o, &t)| {
                let (f, d) = distance(o, t as f64);
                loss += f;
                d / rows
            })
            .collect();
        (loss / rows, grad)
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../shaders/general/objective/circular.wgsl")
    }
}

/// |exp(i a) - exp(i b)| for a and b in degrees, and its derivative in a (per degree).
fn distance(a_deg: f64, b_deg: f64) -> (f64, f64) {
    let to_rad = PI / 180.0;
    let (a, b) = (a_deg * to_rad, b_deg * to_rad);
    let f = ((a.cos() - b.cos()).powi(2) + (a.sin() - b.sin()).powi(2)).sqrt();
    // d f / d a = sin(a - b) / f; at f = 0 the distance has a cusp and we take 0, as a subgradient.
    let d = if f > 0.0 { (a - b).sin() / f } else { 0.0 };
    (f, d * to_rad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circular_loss_wraps_and_its_gradient_matches_differences() {
        let (near, _) = distance(359.0, 1.0);
        let (same, _) = distance(2.0, 0.0);
        assert!((near - same).abs() < 1e-12);
        for (a, b) in [(10.0, 50.0), (350.0, 5.0), (200.0, 20.5)] {
            let (_, d) = distance(a, b);
            let h = 1e-6;
            let fd = (distance(a + h, b).0 - distance(a - h, b).0) / (2.0 * h);
            assert!((d - fd).abs() < 1e-8, "{a} {b}: {d} vs {fd}");
        }
    }
}
