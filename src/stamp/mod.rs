//! Stamps: preprocessing for the models (this module) and display maths.

pub mod display;
mod preprocess;

pub use preprocess::*;
