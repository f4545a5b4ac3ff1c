//! Integration tests: the real `ops` binary on task files in temporary directories.

mod common;
mod fake_kube;
mod servers;

mod bad_input;
mod confirm;
mod diagnostics;
mod diff;
mod dry_run;
mod example_e2e;
mod failure;
mod faults;
mod graph_order;
mod hooks;
mod journal;
mod json;
mod kube_e2e;
mod lint;
mod lint_registry;
mod list_graph;
mod nix_files;
mod output;
mod parallel;
mod saved_plan;
mod secrets;
mod signals;
mod steps_ansible;
mod steps_caddy;
mod steps_cnpg;
mod steps_gate;
mod steps_git;
mod steps_http;
mod steps_kube;
mod steps_mixed;
mod steps_nix;
mod up_to_date;
