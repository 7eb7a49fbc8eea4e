//! Stamps: preprocessing for the models (this module) and display maths.

mod preprocess;

pub use preprocess::*;
