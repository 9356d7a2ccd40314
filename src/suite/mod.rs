//! Suites: TOML files under `suites/` (DESIGN.md section 2) loaded and validated into
//! [`model`] types, plus the optional `traceval.toml`; and which cases a run selects
//! ([`Filter`], [`Shard`]).
//!
//! [`load_project`] reads `traceval.toml` and the suites; [`load_suite`] reads one file. The
//! TOML is read into serde structs that mirror the keys, then validated into the model, so
//! the runner only ever sees checked values. Errors are [`SuiteLoadError`]s naming the file,
//! line, column and key, with a hint where a near key or value exists.
//!
//! Discovery: without explicit paths, the suites are the `*.toml` files under `suites/`, at any
//! depth, in path order. Hidden entries (names starting with `.`) and directories named
//! `scripts`, `snapshots` or `data` are skipped at every level, since scripted-model scripts,
//! trace snapshots and data files live there and may be TOML too. A directory given on the
//! command line is discovered the same way; a file given is loaded whatever its name.
//!
//! Agents are `kind = "command"` (a subprocess per trial) or `kind = "builtin"` (traceval's own
//! tool loop, with `system-prompt`, `max-turns`, `temperature` and the suite's `[[tool]]`
//! tables; see [`model::BuiltinAgent`] and [`model::ToolDef`]). A key of one kind under the
//! other is an error, as is a `[[tool]]` table without a builtin agent. In a builtin suite,
//! the calls a case expects (`expect.tools`) must name its tools.
//!
//! `[[case.expect.span]]` tables load into [`model::SpanAssertion`]s: their selectors are
//! parsed here, so that a bad one is reported at its key and column before any trial runs.
//!
//! `expect.trajectory` (a mode such as `"in-order"`, or a table with `mode`, `args` and
//! `tool-args`) loads into a [`model::Trajectory`]; it needs the case's `tools`, and each
//! `tool-args` key must name one of them.
//!
//! `expect.max-cost` is a limit in USD on a trial's cost; a trial whose cost is unknown (a model
//! without a price) fails it.
//!
//! `[[case.expect.judge]]` tables load into [`model::Judge`]s; within a project, their `model`
//! must be defined in the suite or in `traceval.toml`, like the names in `models`.
//!
//! Keys of the design that this version does not implement yet (`expect.snapshot`, a case's
//! `trace`, agent kind `replay`) are an error, not ignored: an ignored expectation would be a
//! false pass.

mod doc;
mod error;
mod filter;
mod load;
pub mod model;
mod project;
mod raw;
mod shard;

pub use crate::hash::fnv1a64;
pub use error::SuiteLoadError;
pub use filter::{Filter, FilterError};
pub use load::conventions::load_conventions;
pub use load::load_suite;
pub use model::{
    Agent, ArgMode, ArgsCase, BuiltinAgent, Case, CommandAgent, Count, CountOp, Expect,
    ExpectedTool, Judge, ModelDef, Origin, Price, Profile, Project, ProjectConfig, Provider,
    SpanAssertion, Suite, ToolDef, ToolResult, Trajectory, TrajectoryMode,
};
pub use project::load_project;
pub use shard::{Shard, ShardError};

#[cfg(test)]
mod testdir;
