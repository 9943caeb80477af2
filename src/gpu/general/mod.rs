//! The general path: every network and setting the tutorial path does not take.

pub mod session;

pub use session::{GeneralSession, evaluate, source, tiles_for, train};
