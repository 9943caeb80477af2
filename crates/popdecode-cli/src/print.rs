//! What the commands print: the network and its training in words, the final summary lines, the run folder, and
//! bench's table.

use popdecode::bench::{BenchRow, StackRow};
use popdecode::model::Spec;
use popdecode::objective::Objective;
use popdecode::run::outcome::Outcome;
use popdecode::run::record::Recorded;
use popdecode::training::Config;

/// "1 epoch", "50 epochs".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// An error as the command line says it: anyhow's `{e:#}` (each cause after a colon), with a value the library
/// names given as the flag that sets it (`lr: ...` is `--lr: ...`).
pub fn error_message(e: &anyhow::Error) -> String {
    e.chain()
        .map(|cause| match cause.downcast_ref::<popdecode::Error>() {
            Some(e) => library_error(e),
            None => cause.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// A library error in the command line's words (see `error_message`).
pub fn library_error(e: &popdecode::Error) -> String {
    match e {
        popdecode::Error::Invalid { name, what } => format!(
            "{}: {what}",
            crate::cli::flag_for(name).unwrap_or_else(|| name.clone())
        ),
        // The library says what does not fit; the way out is the command line's.
        popdecode::Error::AdapterLimits(_) => format!("{e}; use --backend cpu"),
        e => e.to_string(),
    }
}

/// "lr 0.0001, SGD, full batch", "lr 0.001, Adam, batches of 32", with penalties when set.
pub fn describe_training(config: &Config, n_train: usize) -> String {
    let batches = match config.batch_size {
        Some(b) if b < n_train => format!(
            "batches of {b}, reshuffled each epoch (seed {})",
            config.shuffle_seed
        ),
        _ => "full batch".to_string(),
    };
    let mut s = format!(
        "lr {}, {}, {batches}",
        config.lr,
        config.optimizer.describe()
    );
    if !config.penalty.is_zero() {
        s += &format!(
            ", L2 {} and L1 {} on W_in",
            config.penalty.l2, config.penalty.l1
        );
    }
    s
}

/// "runs/2025-01-01_12-00-00 (summary.json, ...; figures loss.svg, ...)".
pub fn describe_recorded(r: &Recorded) -> String {
    let figures: Vec<String> = r
        .figures
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    format!(
        "{} ({}; figures {})",
        r.dir.display(),
        popdecode::run::folder::DATA_FILES.join(", "),
        figures.join(", ")
    )
}

/// The final losses and errors; for classifiers, the fraction correct and the confusion between bins.
pub fn summary_lines(summary: &Outcome, spec: &Spec) -> Vec<String> {
    let unit = match spec.objective {
        Objective::Mse => " (deg^2)",
        _ => "",
    };
    let mut lines = vec![format!(
        "final: train loss {:.4}, test loss {:.4}{unit}; test angular error{}: median {:.2} deg, mean {:.2} deg",
        summary.train_loss,
        summary.test_loss,
        if summary.classes.is_some() {
            " of the decoded bins' centres"
        } else {
            ""
        },
        summary.test_angular.median_deg,
        summary.test_angular.mean_deg
    )];
    if let Some(c) = &summary.classes {
        let n: usize = c.confusion.iter().flatten().sum();
        lines.push(format!(
            "test fraction correct: {:.3} ({} of {n} rows in their bin; chance {:.3})",
            c.fraction_correct,
            (c.fraction_correct * n as f64).round(),
            1.0 / c.classes as f64
        ));
        let width = 360.0 / c.classes as f64;
        lines.push(format!(
            "confusion (rows: true bin, columns: decoded bin; bins of {} deg):",
            if width.fract() == 0.0 {
                format!("{width:.0}")
            } else {
                format!("{width:.2}")
            }
        ));
        for (t, row) in c.confusion.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>3}")).collect();
            lines.push(format!("  {t:>3} |{}", cells.join("")));
        }
    }
    lines
}

/// The header of bench's table.
pub fn bench_header() -> String {
    format!(
        "{:<5} {:>6} {:>7} {:>10} {:>9} {:>9} {:>8} {:>9} {:>7}  kernels (ms each)",
        "", "hidden", "neurons", "ms/epoch", "epochs/s", "GFLOP/s", "GB/s", "floor ms", "/kernels"
    )
}

/// One row of bench's table.
pub fn bench_row(r: &BenchRow) -> String {
    let kernels: Vec<String> = r
        .kernels
        .iter()
        .map(|(k, ms)| format!("{k} {ms:.3}"))
        .collect();
    format!(
        "{:<5} {:>6} {:>7} {:>10.3} {:>9.1} {:>9.1} {:>8.1} {:>9} {:>7}  {}",
        r.backend,
        r.hidden,
        r.neurons,
        r.ms_per_epoch,
        r.epochs_per_s,
        r.gflops,
        r.gbps,
        r.floor_ms
            .map(|f| format!("{f:.3}"))
            .unwrap_or_else(|| "-".into()),
        r.overhead_ratio()
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "-".into()),
        kernels.join(", ")
    )
}

/// The header of `bench --networks`'s table.
pub fn bench_networks_header() -> String {
    format!(
        "{:<5} {:>8} {:>6} {:>7} {:>6} {:>10} {:>13} {:>10} {:>6} {:>10} {:>8} {:>9} {:>8}",
        "",
        "networks",
        "hidden",
        "neurons",
        "rows",
        "ms/epoch",
        "us/net-epoch",
        "wall ms/ep",
        "wide M",
        "wide ms/ep",
        "/wide",
        "GFLOP/s",
        "GB/s"
    )
}

/// One row of `bench --networks`'s table: the stack, then the one wide network and stack / wide.
pub fn bench_networks_row(r: &StackRow) -> String {
    format!(
        "{:<5} {:>8} {:>6} {:>7} {:>6} {:>10.3} {:>13.2} {:>10.3} {:>6} {:>10.3} {:>7.2}x {:>9.1} {:>8.1}",
        r.row.backend,
        r.networks,
        r.row.hidden,
        r.row.neurons,
        match r.rows {
            popdecode::bench::StackRows::Shared => "shared",
            popdecode::bench::StackRows::Folds => "folds",
        },
        r.row.ms_per_epoch,
        r.us_per_network_epoch,
        r.wall_ms_per_epoch,
        r.wide_hidden,
        r.wide_ms_per_epoch,
        r.ratio_to_wide,
        r.row.gflops,
        r.row.gbps,
    )
}

/// "12.34 ± 1.20": a statistic's mean and SD, or "-" where the metric has no value.
fn mean_sd(st: Option<popdecode::sweep::results::Stat>, digits: usize) -> String {
    match st {
        Some(s) if s.n > 1 && s.sd > 0.0 => format!("{:.digits$} ± {:.digits$}", s.mean, s.sd),
        Some(s) => format!("{:.digits$}", s.mean),
        None => "-".to_string(),
    }
}

/// The table a cv or sweep run prints: for cv, one row per fold (mean ± SD over its repeats) and the
/// cross-validated line (mean ± SD over folds x repeats); for a sweep, one row per cell.
pub fn sweep_table(r: &popdecode::sweep::results::SweepResults) -> Vec<String> {
    use popdecode::sweep::results::{METRICS, Stat};
    let metric = |name: &str| METRICS.iter().position(|m| *m == name).expect("a metric");
    let (median, mean, loss, fraction, ridge) = (
        metric("test_median_error_deg"),
        metric("test_mean_error_deg"),
        metric("test_loss"),
        metric("fraction_correct"),
        metric("baseline_median_error_deg"),
    );
    let mut columns = vec![median, mean, loss];
    let mut heads = vec!["median error (deg)", "mean error (deg)", "test loss"];
    if r.classifier {
        columns.push(fraction);
        heads.push("fraction correct");
    }
    if r.baseline {
        columns.push(ridge);
        heads.push("ridge median (deg)");
    }
    let digits = |m: usize| if m == fraction { 3 } else { 2 };
    let width = 22;
    let row = |label: String, n: usize, stats: &[Option<Stat>]| {
        let mut line = format!("{label} {n:>8}");
        for &m in &columns {
            line += &format!("  {:>width$}", mean_sd(stats[m], digits(m)));
        }
        line
    };
    let header = |label: String| {
        let mut line = format!("{label} {:>8}", "networks");
        for h in &heads {
            line += &format!("  {h:>width$}");
        }
        line
    };
    let stats_of = |rows: Vec<&popdecode::sweep::results::NetworkResult>| -> Vec<Option<Stat>> {
        (0..METRICS.len())
            .map(|m| Stat::of(&rows.iter().filter_map(|n| n.counted(m)).collect::<Vec<_>>()))
            .collect()
    };
    let mut out = Vec::new();
    if r.varied.is_empty() {
        out.push(header(format!("{:>6}", "fold")));
        for f in 0..r.folds {
            let rows: Vec<_> = r.networks.iter().filter(|n| n.fold == f).collect();
            if !rows.is_empty() {
                let n = rows.len();
                out.push(row(format!("{:>6}", f), n, &stats_of(rows)));
            }
        }
        if let Some(c) = r.cells.first() {
            let n = r.networks.len();
            out.push(row(format!("{:>6}", "all"), n, &c.stats));
            let st = |m: usize| mean_sd(c.stats[m], digits(m));
            out.push(format!(
                "cross-validated ({} folds x {} = {n} networks, mean ± SD): median error {} deg, mean error {} \
                 deg, test loss {}{}{}",
                r.folds,
                count(r.repeats, "repeat"),
                st(median),
                st(mean),
                st(loss),
                if r.classifier {
                    format!(", fraction correct {}", st(fraction))
                } else {
                    String::new()
                },
                if r.baseline {
                    format!("; ridge baseline on the same folds: median error {} deg", st(ridge))
                } else {
                    String::new()
                }
            ));
        }
    } else {
        let labels: Vec<String> = r
            .cells
            .iter()
            .map(|c| {
                r.varied
                    .iter()
                    .zip(&c.values)
                    .map(|(v, &i)| format!("{}={}", v.name, v.values[i]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let w = labels.iter().map(String::len).max().unwrap_or(4).max(4);
        out.push(header(format!("{:<w$}", "cell")));
        for (c, label) in r.cells.iter().zip(labels) {
            let n = r.networks.iter().filter(|x| x.cell == c.cell).count();
            out.push(row(format!("{label:<w$}"), n, &c.stats));
        }
        out.push(format!(
            "each cell: mean ± SD over its networks ({} x {})",
            if r.folds > 1 {
                count(r.folds, "fold")
            } else {
                "1 split".to_string()
            },
            count(r.repeats, "repeat")
        ));
    }
    out
}
