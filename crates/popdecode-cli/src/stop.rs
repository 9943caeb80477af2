//! Stopping a run on a signal. SIGINT, SIGTERM and SIGHUP raise a flag that training checks at each epoch
//! boundary (`backend::Control::stop_on`), so the run folder is still written, marked interrupted; a second
//! signal ends the process at once, after removing this run's claim, its temporary files and what it wrote of its
//! folder (`folder::abandon_all`). The signals are taken on a thread of their own (signal-hook's iterator), where
//! removing files is safe, rather than in a signal handler.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use popdecode::error::{Error, Result};
use popdecode::run::folder;

/// Raised by the first signal.
static STOP: AtomicBool = AtomicBool::new(false);
/// The first signal's number, 0 before one.
static FIRST: AtomicI32 = AtomicI32::new(0);
static INSTALLED: OnceLock<()> = OnceLock::new();

/// The signals that stop a run.
pub const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Takes SIGINT, SIGTERM and SIGHUP from now on (once per process) and returns the flag the first raises.
pub fn install() -> Result<&'static AtomicBool> {
    if INSTALLED.get().is_none() {
        let mut signals = Signals::new(SIGNALS)
            .map_err(|e| Error::Usage(format!("cannot take SIGINT, SIGTERM and SIGHUP: {e}")))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if STOP.swap(true, Ordering::SeqCst) {
                        let removed = folder::abandon_all();
                        eprintln!(
                            "popdecode: {} again: stopped at once{}",
                            name(signal),
                            if removed {
                                "; this run's unfinished folder, claim and temporary files are removed"
                            } else {
                                ""
                            }
                        );
                        std::process::exit(exit_code(signal).into());
                    }
                    FIRST.store(signal, Ordering::SeqCst);
                    eprintln!(
                        "popdecode: {}: stopping at the end of this epoch and writing the run folder (send it again to \
                         stop at once, writing nothing)",
                        name(signal)
                    );
                }
            })
            .map_err(|e| Error::Usage(format!("cannot start the signal thread: {e}")))?;
        let _ = INSTALLED.set(());
    }
    Ok(&STOP)
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit status of a run a signal stopped: 128 + its number, as shells report it (130 for SIGINT, 143 for
/// SIGTERM, 129 for SIGHUP).
pub fn exit_code(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// "SIGINT", "SIGTERM", "SIGHUP" or "signal N".
pub fn name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGHUP => "SIGHUP".into(),
        s => format!("signal {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(exit_code(SIGINT), 130);
        assert_eq!(exit_code(SIGTERM), 143);
        assert_eq!(exit_code(SIGHUP), 129);
        assert_eq!(name(SIGTERM), "SIGTERM");
    }
}
