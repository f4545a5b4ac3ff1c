//! The YAML loader (with positions) and the kustomization reader must turn any input
//! into documents or a syntax error, never a panic; positions stay inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::policy::kustomize::Kustomization;
use ops::yaml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match yaml::load(text) {
        Ok(docs) => {
            for doc in &docs {
                assert!(doc.pos.start <= doc.pos.end && doc.pos.end <= text.len());
                let _ = Kustomization::from_node(std::path::Path::new("k/kustomization.yaml"), doc);
                let _ = ops::policy::workload::images(doc);
            }
        }
        Err(e) => assert!(e.pos.start <= text.len()),
    }
});
