//! Judging a trial: checks on its output and on its span tree.

pub mod tools;
