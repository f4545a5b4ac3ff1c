//! YAML, shared by the linter, the Kubernetes steps and the manifest-editing steps:
//! a parser that keeps every node's position (`parse`, into the tree of `node` that
//! `build` makes of its events),
//! documents as JSON (`json`) and a printer of JSON values as YAML (`print`).
//!
//! Layering: this module depends on nothing else in the crate; `policy`, `kube`,
//! `argocd` and the executors sit above it.

mod build;
mod json;
mod node;
mod parse;
mod print;

pub use json::documents;
pub use node::{Kind, Node, Pos, SyntaxError};
pub use parse::{load, load_bytes};
pub use print::{print, scalar};
