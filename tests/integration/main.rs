//! Integration tests on the real ZTF data in `../shared/data` (see its PROVENANCE.md).
//! One test binary on purpose: every extra binary links the whole stack again.

mod app;
mod app_keys_wise;
mod app_stream;
mod architecture;
mod classify;
mod cli;
mod common;
mod corrupt;
mod cpu_infer;
mod crossmatch;
mod default_answer;
mod display;
mod fused;
mod install;
mod kafka;
mod lsst;
mod lsst_answer;
mod lsst_app;
mod lsst_objects;
mod lsst_trees;
mod model;
mod neutralise;
mod priors;
mod reading;
mod reference;
mod rules_every_model;
mod sequences;
mod sim;
mod stream;
mod temporal;
mod train;
mod wgpu_train;
