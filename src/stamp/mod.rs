//! Stamps: preprocessing for the models (this module) and display maths.

pub mod display;
pub mod export;
mod preprocess;

pub use preprocess::*;
