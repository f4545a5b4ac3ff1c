//! Any text as a `policies/*.toml` file: loading it (and rendering its diagnostics)
//! must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = ops::policy::check_policy_text(text);
});
