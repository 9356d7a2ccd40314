//! `traceval compare`: whether a change (prompt, model, agent code) made an agent better or
//! worse, across runs or across the models of one run.
//!
//! [`stats`] is the statistics, pure functions of per-case numbers (the case is the unit of
//! analysis; its k trials are resamples of it); reading reports, aligning cases, per-case
//! classes, the gate and the outputs call it.

#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the `compare` command, built next, is its caller")
)]
pub(crate) mod stats;

#[allow(dead_code, reason = "the `compare` command, built next, is its caller")]
pub(crate) mod document;

#[allow(dead_code, reason = "the `compare` command, built next, is its caller")]
pub(crate) mod render;
