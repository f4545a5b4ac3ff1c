//! `ops schema [NAME]`: the JSON Schema of a document `ops` prints, or the list of them.
//! The schemas are generated from the types that are serialized, so they cannot
//! drift; they are committed under `schemas/`, where a test checks them against real
//! output.

use std::fmt::Write as _;
use std::io::Write as _;

use clap::ValueEnum as _;
use schemars::{JsonSchema, Schema};

use crate::cli::SchemaDocument;
use crate::exit::ExitStatus;

fn of<T: JsonSchema>() -> Schema {
    schemars::schema_for!(T)
}

fn schema(doc: SchemaDocument) -> Schema {
    match doc {
        SchemaDocument::RunEvents => of::<crate::report::EventLine<'static>>(),
        SchemaDocument::Plan => of::<crate::run::saved_plan::SavedPlan>(),
        SchemaDocument::Lint => of::<crate::policy::output::LintJson<'static>>(),
        SchemaDocument::Runs => of::<super::runs::RunsJson<'static>>(),
        SchemaDocument::RunsShow => of::<super::runs::RunShowJson<'static>>(),
        SchemaDocument::List => of::<super::list::ListJson<'static>>(),
        SchemaDocument::Doctor => of::<crate::report::DoctorJson<'static>>(),
        SchemaDocument::Graph => of::<super::graph_json::GraphJson<'static>>(),
    }
}

pub(super) fn run(doc: Option<SchemaDocument>) -> ExitStatus {
    let text = if let Some(doc) = doc {
        let mut text = serde_json::to_string_pretty(&schema(doc)).unwrap_or_default();
        text.push('\n');
        text
    } else {
        // Each document's name, and what prints it (its doc comment).
        let values: Vec<_> = SchemaDocument::value_variants()
            .iter()
            .filter_map(clap::ValueEnum::to_possible_value)
            .collect();
        let width = values.iter().map(|v| v.get_name().len()).max().unwrap_or(0);
        let mut out = String::new();
        for v in values {
            let help = v.get_help().map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(out, "{:<width$}  {help}", v.get_name());
        }
        out
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitStatus::Success
}
