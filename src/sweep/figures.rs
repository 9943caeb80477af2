//! The figures of a cv or sweep run (to be drawn from `results::SweepResults`).
