//! Stamps: preprocessing for the models (this module) and display maths.

pub mod display;
pub mod export;
pub mod orient;
mod preprocess;

pub use preprocess::*;
