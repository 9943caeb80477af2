//! Log messages on stderr through `log` and env_logger: warnings by default, `-v` adds popdecode's info messages
//! (what it loads, writes and how long each part takes), `-vv` its debug messages and other crates' info (wgpu's
//! among them), `-vvv` everything. `RUST_LOG`, when set, decides instead, as in every env_logger program.

/// The filter for a count of `-v` flags.
pub fn default_filter(verbose: u8) -> &'static str {
    match verbose {
        // usvg, rendering our own SVG to PNG, warns of what it skips in it (the empty polylines plotters writes
        // for a curve with no finite point, as a diverged run's loss): nothing a user can act on.
        0 => "warn,usvg=error",
        1 => "warn,usvg=error,popdecode=info",
        2 => "info,popdecode=debug",
        _ => "trace",
    }
}

/// Starts logging; call once, first thing.
pub fn init(verbose: u8) {
    let env = env_logger::Env::default().default_filter_or(default_filter(verbose));
    let _ = env_logger::Builder::from_env(env)
        .format_target(verbose >= 2)
        .try_init();
}
