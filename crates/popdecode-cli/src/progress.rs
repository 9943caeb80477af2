//! What `train` shows while it runs: the tutorial's progress lines, and an indicatif progress bar when stdout is a
//! terminal and the run looks like lasting more than about 2 s. `--quiet` hides both; `--json` prints nothing but
//! the final summary object.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use popdecode::backend::Progress;
use popdecode::run::history::progress_line;

/// Set once stdout is closed or fails: from then on nothing more is printed, and the run goes on.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line on stdout. A reader that went away (`popdecode train ... | head -1`: a broken pipe) or any
/// other failure to write ends the printing quietly, never the run: the run folder is still written.
pub fn say_line(args: std::fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            log::warn!("stdout: {e}; printing stops, the run goes on");
        }
    }
}

/// `println!` through `say_line`: a closed stdout stops the printing, not the program.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::progress::say_line(format_args!($($arg)*))
    };
}

/// Runs projected to last longer than this get a progress bar.
pub const BAR_AFTER: Duration = Duration::from_secs(2);

/// Whether to show a bar, decided at the first progress report: `done` of `total` epochs took `elapsed`.
pub fn want_bar(terminal: bool, quiet: bool, elapsed: Duration, done: usize, total: usize) -> bool {
    terminal
        && !quiet
        && done > 0
        && done < total
        && elapsed.as_secs_f64() * total as f64 / done as f64 > BAR_AFTER.as_secs_f64()
}

/// The run's output on stdout.
pub struct Console {
    json: bool,
    quiet: bool,
    terminal: bool,
    epochs: usize,
    started: Instant,
    bar: Option<ProgressBar>,
    decided: bool,
}

impl Console {
    /// For a run of `epochs` epochs that starts now.
    pub fn new(json: bool, quiet: bool, epochs: usize) -> Console {
        Console {
            json,
            quiet,
            terminal: std::io::stdout().is_terminal(),
            epochs,
            started: Instant::now(),
            bar: None,
            decided: false,
        }
    }

    /// A line for people (nothing with `--json`), printed above the bar if there is one.
    pub fn line(&self, text: impl Display) {
        if self.json {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text.to_string()),
            None => crate::say!("{text}"),
        }
    }

    /// A progress report from the backend: the tutorial's line (unless quiet), and the bar.
    pub fn progress(&mut self, p: &Progress) {
        if !self.decided {
            self.decided = true;
            if want_bar(
                self.terminal,
                self.quiet || self.json,
                self.started.elapsed(),
                p.epoch,
                self.epochs,
            ) {
                self.bar = Some(self.new_bar());
            }
        }
        if !(self.quiet || self.json) {
            self.line(progress_line(p.epoch, self.epochs, p.history));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(p.epoch as u64);
            // Progress comes every epochs / 5 epochs: too seldom for indicatif's own estimate of what is left.
            let left = self.started.elapsed().as_secs_f64() / p.epoch as f64
                * (self.epochs - p.epoch) as f64;
            bar.set_message(format!(
                "loss {:.1} | test loss {:.1} (about {left:.0} s left)",
                p.history.train_loss[p.epoch - 1],
                p.history.test_loss[p.epoch - 1]
            ));
        }
    }

    fn new_bar(&self) -> ProgressBar {
        // The bar appears at the first report; its clock starts with the run.
        let bar =
            ProgressBar::with_draw_target(Some(self.epochs as u64), ProgressDrawTarget::stdout())
                .with_elapsed(self.started.elapsed());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} epochs, {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// Training is over: the bar goes; the lines printed above it stay.
    pub fn finish_progress(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.finish_progress();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_in_a_terminal_unquiet_and_for_long_runs() {
        let s = Duration::from_secs_f64;
        // 10 of 50 epochs in 0.5 s: 2.5 s projected.
        assert!(want_bar(true, false, s(0.5), 10, 50));
        assert!(!want_bar(false, false, s(0.5), 10, 50));
        assert!(!want_bar(true, true, s(0.5), 10, 50));
        // 10 of 50 in 0.3 s: 1.5 s projected.
        assert!(!want_bar(true, false, s(0.3), 10, 50));
        // Already done.
        assert!(!want_bar(true, false, s(5.0), 50, 50));
    }
}
