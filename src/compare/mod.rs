//! `traceval compare`: whether a change (prompt, model, agent code) made an agent better or
//! worse, across runs or across the models of one run (`docs/reference/compare.md`).
//!
//! [`read`] reads and checks the reports; [`align`] picks the pairs of sides and keys their
//! cases; [`classes`] gives each case its class per side and its label; [`behaviour`] says what
//! the agent did differently; [`measure`] compares the metrics with [`stats`] (pure functions
//! of per-case numbers: the case is the unit of analysis, its k trials resamples of it);
//! [`reprice`] prices both sides with one table; [`build`] puts the [`document`] together;
//! [`gate`] judges it; [`render`] shows it.

pub(crate) mod align;
pub(crate) mod behaviour;
pub(crate) mod build;
pub(crate) mod classes;
pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod gate;
pub(crate) mod measure;
pub(crate) mod options;
pub(crate) mod read;
pub(crate) mod render;
pub(crate) mod reprice;
pub(crate) mod stats;

pub(crate) use build::compare;
pub(crate) use error::CompareError;
pub(crate) use gate::gate;
pub(crate) use options::{Broken, CompareOptions, GateOptions};
pub(crate) use read::{LoadedReport, read};

/// Candidate reports one comparison takes at most.
pub(crate) const MAX_CANDIDATES: usize = 8;
