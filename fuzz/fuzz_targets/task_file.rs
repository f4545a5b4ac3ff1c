//! The task-file loader must turn any input into tasks or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::diagnostic::SourceFile;
use ops::task::{Vars, load_sources};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new("tasks/fuzz.toml", text);
    if let Err(errors) = load_sources(std::path::Path::new("."), vec![file], &Vars::default()) {
        // Rendering the diagnostics must not panic either (spans inside the text).
        let _ = format!("{:?}", miette::Report::new(errors));
    }
});
