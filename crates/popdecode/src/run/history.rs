//! The per-epoch losses: the tutorial's progress line, and history.csv.

use std::io::Write;
use std::path::Path;

use crate::backend::History;
use crate::data::npz::write_atomically;
use crate::error::Result;

/// The tutorial's progress line: `iteration 10/50 | loss: 12219.761 | test loss: 13012.345`.
pub fn progress_line(epoch: usize, epochs: usize, history: &History) -> String {
    format!(
        "iteration {epoch}/{epochs} | loss: {:.3} | test loss: {:.3}",
        history.train_loss[epoch - 1],
        history.test_loss[epoch - 1]
    )
}

/// `epoch,train_loss,test_loss`, one row per epoch counted from 1, written atomically.
pub fn write_history_csv(path: &Path, history: &History) -> Result<()> {
    write_atomically(path, |file| {
        let mut w = std::io::BufWriter::new(file);
        writeln!(w, "epoch,train_loss,test_loss")?;
        for (i, (train, test)) in history
            .train_loss
            .iter()
            .zip(&history.test_loss)
            .enumerate()
        {
            writeln!(w, "{},{},{}", i + 1, train, test)?;
        }
        w.flush()
    })
}

/// Reads a file written by `write_history_csv`.
pub fn read_history_csv(path: &Path) -> Result<History> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::error::Error::io(path, e))?;
    let bad = |what: String| crate::error::Error::io(path, std::io::Error::other(what));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    if header.trim() != "epoch,train_loss,test_loss" {
        return Err(bad(format!(
            "expected the header `epoch,train_loss,test_loss`, found `{header}`"
        )));
    }
    let mut history = History::default();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<Option<f64>> = line.split(',').map(|f| f.trim().parse().ok()).collect();
        match fields[..] {
            [Some(epoch), Some(train), Some(test)] if epoch == (i + 1) as f64 => {
                history.train_loss.push(train);
                history.test_loss.push(test);
            }
            _ => {
                return Err(bad(format!(
                    "line {}: expected `{},<train loss>,<test loss>`, found `{line}`",
                    i + 2,
                    i + 1
                )));
            }
        }
    }
    Ok(history)
}
