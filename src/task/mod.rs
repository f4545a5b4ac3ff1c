//! Task files: `tasks/*.toml` loaded, resolved and validated into a [`TaskSet`].
//!
//! The flow is `file` (raw serde structs with spans) → `load` (variables, names,
//! actions; every problem collected) → `graph` (dependencies, cycles) → [`TaskSet`].
//! Raw types never leave this module.

mod error;
mod file;
pub mod graph;
mod load;
mod model;

pub use error::{LoadError, LoadErrors};
pub use load::{Resolver, Vars, load, load_sources};
pub use model::{SecretSource, Task, TaskId, TaskSet};
