//! Suites: TOML files under `suites/` (`docs/reference/suite.md`) loaded and validated into
//! [`spec`] types, plus the optional `traceval.toml`; and which cases a run selects
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
//! Agents are `kind = "command"` (a subprocess per trial), `kind = "builtin"` (traceval's own
//! tool loop, with `system-prompt`, `max-turns`, `temperature` and the suite's `[[tool]]`
//! tables; see [`spec::BuiltinAgent`] and [`spec::ToolDef`]) or `kind = "replay"` (no agent:
//! each case's `trace`, and optional `output`, is a recorded trial, read and checked as the
//! suite loads; see [`spec::ReplayAgent`]). A key of one kind under another is an error, as
//! is a `[[tool]]` table without a builtin agent, and a case's `trace` or `output` outside a
//! replay suite. In a builtin suite, the calls a case expects (`expect.tools`) must name its
//! tools.
//!
//! `[[case.expect.span]]` tables load into [`spec::SpanAssertion`]s: their selectors are
//! parsed here, so that a bad one is reported at its key and column before any trial runs.
//!
//! `expect.trajectory` (a mode such as `"in-order"`, or a table with `mode`, `args` and
//! `tool-args`) loads into a [`spec::Trajectory`]; it needs the case's `tools`, and each
//! `tool-args` key must name one of them.
//!
//! `expect.max-cost` is a limit in USD on a trial's cost; a trial whose cost is unknown (a model
//! without a price) fails it.
//!
//! `[[case.expect.judge]]` tables load into [`spec::Judge`]s; within a project, their `model`
//! must be defined in the suite or in `traceval.toml`, like the names in `models`.
//!
//! # Custom conventions
//! `[conventions]`, in a suite or in `traceval.toml`, teaches the GenAI view a team's own
//! instrumentation: in-house span names and attributes become kinds and fields, so that
//! `tools`, `trajectory`, `max-llm-calls`, span selectors, tokens and cost work on them as on
//! the mainstream conventions. Keys are kebab-case; an unknown key, kind or field is an error
//! with a hint.
//!
//! ```toml
//! # Kind rules, tried in file order before the built-in conventions; the first that matches
//! # decides. Each needs at least one matcher, and all its matchers must hold.
//! [[conventions.kind]]
//! kind = "tool"                        # llm, tool, agent, retrieval, embedding, retry, step or
//!                                      # other
//! name = "acme.tool.run"               # the span name equals this, or
//! # name-prefix = "acme.tool."         # starts with this, or
//! # name-regex = '^acme\.(tool|fn)\.'  # contains a match (unanchored; at most one name matcher)
//! attr = { "acme.kind" = "tool" }      # and these attributes have these values (compared as
//!                                      # text: `2` and `true` match those values and strings)
//!
//! # Attribute keys per field, one or a list, tried in order before the built-in keys.
//! [conventions.fields]
//! tool-name = ["acme.tool"]            # else the span name
//! tool-arguments = ["acme.args"]       # JSON text or a map
//! tool-result = ["acme.result"]
//! tool-call-id = ["acme.call_id"]
//! agent-name = ["acme.agent"]          # else the span name
//! model = ["acme.model"]               # the requested and the answering model
//! provider = ["acme.vendor"]
//! input-tokens = ["acme.tokens.in"]    # integers; on `llm` spans only, as always
//! output-tokens = ["acme.tokens.out"]
//! cache-read-tokens = ["acme.tokens.cached"]
//! cache-write-tokens = ["acme.tokens.cache_write"]
//! cost = ["acme.cost_usd"]             # USD; wins over the price table, like built-in costs
//! finish-reasons = ["acme.stop"]
//! ```
//!
//! Scope: `traceval.toml`'s apply to every suite; a suite's apply to it alone and come first
//! (its rules are tried before the project's, its keys before the project's keys; both before
//! the built-in table). `kind = "other"` with a matcher takes spans away from a built-in kind.
//! Loaded into [`Conventions`](crate::trace::Conventions), compiled once and shared by every
//! trial; [`load_conventions`] reads the table of any TOML file (`traceval inspect
//! --conventions`). LLM judges' own spans are read by the built-in conventions alone.
//!
//! # Trace-shape snapshots
//! `snapshot = true` in a case's `[case.expect]` compares the shape of each trial's trace
//! ([`crate::trace::shape`]) with a stored snapshot (the runner's side: [`crate::snapshot`]).
//! Three keys say how the shape is rendered; at the top of a suite they are the defaults of its
//! cases, and in a `[case.expect]` each one given replaces the suite's:
//!
//! ```toml
//! snapshot-attrs = ["tool", "model", "http.route"] # what each line shows (default: operation,
//!                                                  # tool, model, provider, error); any other
//!                                                  # name is an attribute key
//! snapshot-ignore = ['span[name~="^HTTP"]']       # selectors: matched spans are left out,
//!                                                  # their children lifted into their place
//! collapse-repeats = true                          # identical sibling subtrees: one line `×N`
//! ```
//!
//! A case's keys without `snapshot = true`, and a suite's when no case has it, are errors: they
//! would have no effect.

mod doc;
mod error;
mod filter;
mod load;
mod project;
mod raw;
mod shard;
pub(crate) mod spec;

pub(crate) use crate::hash::fnv1a64;
pub(crate) use error::SuiteLoadError;
pub(crate) use filter::{Filter, FilterError};
pub(crate) use load::conventions::load_conventions;
pub use load::load_suite;
pub(crate) use project::{find_root, load_project};
pub(crate) use shard::{Shard, ShardError};
pub use spec::Case;
pub(crate) use spec::{
    Agent, ArgMode, BuiltinAgent, CommandAgent, Count, CountOp, Expect, ExpectedTool, Judge,
    Project, SpanAssertion, Suite, ToolDef, ToolResult, Trajectory, TrajectoryMode,
};

#[cfg(test)]
mod testdir;
