//! The tuned path for the tutorial's network trained the tutorial's way (one hidden layer, MSE, plain
//! full-batch SGD, no penalty): three dispatches an epoch, its choices per kind of adapter in `layout::Plan`.

pub mod kernels;
pub mod layout;
pub mod session;
