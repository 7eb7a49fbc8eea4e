//! stampseq: the Temporal Stamp Classifier workbench.
//!
//! Data flows one way: files -> [`alert`]s -> [`sequence`]s -> [`stamp`] tensors and
//! [`features`] -> models -> probabilities -> views and exports. The CLI (`src/cli`) and the
//! desktop app are thin layers over this library.

pub mod alert;
pub mod app;
pub mod assets;
pub mod atomic;
pub mod backend;
pub mod classify;
pub mod cli;
pub mod errors;
pub mod eval;
pub mod experiments;
pub mod features;
pub mod labels;
pub mod model;
pub mod sequence;
pub mod sim;
pub mod stamp;
pub mod stream;
pub mod time;
pub mod train;
