//! What the JSON documents `ops` prints have in common: their version. Their JSON
//! Schemas are generated from the serialized types (`ops schema`, `schemas/`).

/// The version of every JSON document `ops` prints (run events, plans, `list`,
/// `doctor`, `lint --format json`, `runs`): raised when a field changes meaning or
/// goes away, not when one is added.
pub(crate) const JSON_VERSION: u32 = 1;
