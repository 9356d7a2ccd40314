//! Suites: TOML files under `suites/` (DESIGN.md section 2) loaded and validated into
//! [`model`] types, plus the optional `traceval.toml`.

mod filter;
pub mod model;
mod shard;

pub use filter::{Filter, FilterError};
pub use model::{Agent, Case, CommandAgent, Expect, ExpectedTool, Project, ProjectConfig, Suite};
pub use shard::{Shard, ShardError, fnv1a64};
