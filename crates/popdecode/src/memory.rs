//! What a run may allocate: the memory this machine has free, and the bytes a run of given sizes needs, so that a
//! size the input merely asks for is refused before anything is allocated for it.

use crate::error::{Error, Result};

/// The sizes of a network that set what its training holds (`model::Spec` has them). A trait, so that this
/// module, which the data readers use too, needs nothing of the model's.
pub trait NetworkSize {
    /// Its inputs.
    fn inputs(&self) -> usize;
    /// Its weights and biases.
    fn parameter_count(&self) -> u128;
    /// Its units, every layer's (the outputs included).
    fn unit_count(&self) -> u128;
}

/// Where `/proc/meminfo` does not exist (not Linux), the most a run may take.
pub const FIXED_CAP: u128 = 16 << 30;

/// The bytes this machine can give a run, and where that figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    pub bytes: u128,
    pub source: &'static str,
}

/// `MemAvailable` of `/proc/meminfo` (what the kernel can give without swapping), else [`FIXED_CAP`].
pub fn available() -> Available {
    let from_proc = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text));
    match from_proc {
        Some(bytes) => Available {
            bytes,
            source: "MemAvailable in /proc/meminfo",
        },
        None => Available {
            bytes: FIXED_CAP,
            source: "popdecode's fixed cap where /proc/meminfo does not exist",
        },
    }
}

/// `MemAvailable:   20700844 kB` -> bytes.
fn mem_available(meminfo: &str) -> Option<u128> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line["MemAvailable:".len()..].split_whitespace();
    let value: u128 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// Bytes as people read them: "34.0 MB", "9.4 TB" (powers of 1000), exact below 1 kB.
pub fn show_bytes(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["kB", "MB", "GB", "TB", "PB", "EB", "ZB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value >= 1000.0 {
        return format!("{value:.3e} {}", UNITS[unit]);
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// One part of what a run holds in memory, with the flags that set its size.
#[derive(Clone, Debug)]
pub struct Part {
    /// "the data", "the weights and optimizer state", ...
    pub what: &'static str,
    /// The flags that set its size, as the refusal names them ("--neurons, --stimuli").
    pub flags: String,
    pub bytes: u128,
}

/// Bytes per f32 data value a training run holds: the data set, the split's training and test rows, and a
/// backend's own layout of them.
pub const DATA_COPIES: u128 = 3 * 4;

/// Bytes per parameter a training run holds: four f32 copies (initial, current, trained, saved) and, on the f64
/// reference, the weights, their gradients and up to two optimizer moments.
pub fn bytes_per_parameter(moments: usize) -> u128 {
    4 * 4 + 8 * (2 + moments as u128)
}

/// What a training run on `rows` x `spec.neurons` data holds: the data, the weights with their gradients and
/// optimizer state (`moments` tensors of the parameters' shape), and every layer's activations on every row in f64
/// (pre-activations, activations and their gradients, and the tuning curves'). `data_flags` and `network_flags`
/// are the flags that set those sizes, for the refusal.
pub fn training_run(
    rows: usize,
    spec: &impl NetworkSize,
    moments: usize,
    data_flags: &str,
    network_flags: &str,
) -> Vec<Part> {
    let values = (rows as u128).saturating_mul(spec.inputs() as u128);
    vec![
        Part {
            what: "the data",
            flags: data_flags.to_string(),
            bytes: values.saturating_mul(DATA_COPIES),
        },
        Part {
            what: "the weights, gradients and optimizer state",
            flags: network_flags.to_string(),
            bytes: spec
                .parameter_count()
                .saturating_mul(bytes_per_parameter(moments)),
        },
        Part {
            what: "the activations",
            flags: network_flags.to_string(),
            bytes: (rows as u128)
                .saturating_mul(spec.unit_count())
                .saturating_mul(4 * 8),
        },
    ]
}

/// Fails, naming the largest part's flags and every part's bytes, unless `parts` fit in `available`.
pub fn check(parts: &[Part], available: Available) -> Result<()> {
    let total: u128 = parts.iter().map(|p| p.bytes).sum();
    if total <= available.bytes {
        return Ok(());
    }
    let largest = parts
        .iter()
        .max_by_key(|p| p.bytes)
        .expect("a run has parts");
    let each = match parts {
        [one] => one.what.to_string(),
        _ => parts
            .iter()
            .map(|p| format!("{} {} ({})", p.what, show_bytes(p.bytes), p.flags))
            .collect::<Vec<_>>()
            .join(", "),
    };
    Err(Error::bad_argument(
        &largest.flags,
        format!(
            "the run would need {} of memory ({each}), more than the {} this machine has free ({}); ask for \
             less",
            show_bytes(total),
            show_bytes(available.bytes),
            available.source
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_in_bytes() {
        let text = "MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   20700844 kB\n";
        assert_eq!(mem_available(text), Some(20_700_844 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots\n"), None);
    }

    #[test]
    fn bytes_are_shown_in_powers_of_1000() {
        assert_eq!(show_bytes(999), "999 bytes");
        assert_eq!(show_bytes(33_968_160), "34.0 MB");
        assert_eq!(show_bytes(9_436_000_000_000), "9.4 TB");
        assert_eq!(show_bytes(u128::MAX), "3.403e17 ZB");
    }

    #[test]
    fn a_run_beyond_the_machine_names_its_largest_part() {
        let parts = [
            Part {
                what: "the data",
                flags: "--neurons, --stimuli".into(),
                bytes: 100,
            },
            Part {
                what: "the weights",
                flags: "--hidden".into(),
                bytes: 5000,
            },
        ];
        let small = Available {
            bytes: 1000,
            source: "a test",
        };
        let err = check(&parts, small).unwrap_err().to_string();
        assert!(
            err.starts_with("--hidden: the run would need 5.1 kB"),
            "{err}"
        );
        assert!(
            err.contains("the data 100 bytes (--neurons, --stimuli)"),
            "{err}"
        );
        assert!(
            err.contains("1.0 kB this machine has free (a test)"),
            "{err}"
        );
        let roomy = Available {
            bytes: 5100,
            source: "a test",
        };
        assert!(check(&parts, roomy).is_ok());
    }

    #[test]
    fn the_tutorials_run_fits_and_an_absurd_width_does_not() {
        use crate::model::{Activation, Spec};
        use crate::objective::Objective;
        let net = |hidden: usize| {
            Spec::new(23589, vec![hidden], Activation::Relu, Objective::Mse).unwrap()
        };
        let parts = training_run(360, &net(10), 0, "--neurons, --stimuli", "--hidden");
        assert_eq!(parts[0].bytes, 360 * 23589 * 12);
        assert_eq!(parts[1].bytes, (10 * 23590 + 11) * 32);
        assert_eq!(parts[2].bytes, 360 * 11 * 32);
        let four_gb = Available {
            bytes: 4_000_000_000,
            source: "a test",
        };
        assert!(check(&parts, four_gb).is_ok());
        let parts = training_run(
            360,
            &net(100_000_000),
            2,
            "--neurons, --stimuli",
            "--hidden",
        );
        let err = check(&parts, four_gb).unwrap_err().to_string();
        assert!(
            err.starts_with("--hidden: the run would need 114.4 TB"),
            "{err}"
        );
        assert!(
            err.contains("the weights, gradients and optimizer state 113.2 TB (--hidden)"),
            "{err}"
        );
        // Sizes near usize::MAX saturate instead of overflowing.
        let widest = net(usize::MAX);
        assert!(widest.parameter_count() > u128::from(u64::MAX));
        assert!(check(&training_run(usize::MAX, &widest, 2, "d", "h"), four_gb).is_err());
    }
}
