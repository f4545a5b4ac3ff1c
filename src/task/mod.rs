//! Task files: `tasks/*.toml` loaded, resolved and validated into a [`TaskSet`].
//!
//! The flow is `file` (raw serde structs with spans) → `load` (variables, names,
//! actions; every problem collected; `aliases` and `handlers` checked there) →
//! `graph` (dependencies, cycles) → [`TaskSet`].
//! Raw types never leave this module.

mod aliases;
pub(crate) mod args;
mod error;
#[cfg(test)]
mod every_key_tests;
mod file;
pub(crate) mod graph;
mod handlers;
mod include;
mod load;
mod lock;
mod matrix;
mod model;
mod settings;
mod vars;

pub use error::LoadErrors;
pub use load::load_sources;
pub(crate) use load::{load, load_invoking};
pub use model::TaskSet;
pub(crate) use model::{EnvFile, SecretSource, Task, TaskId, Usage};
pub use vars::Vars;

/// The maps of task names built at every load: foldhash rather than std's SipHash,
/// which was 7% of loading 1,000 tasks (names come from the repository's own files).
type NameMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type NameSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
