//! The YAML loader (with positions) and the kustomization reader must turn any input
//! into documents or a syntax error, never a panic; positions stay inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::policy::kustomize::Kustomization;
use ops::yaml;

fuzz_target!(|data: &[u8]| {
    // Any bytes, as `ops lint` reads a file: text that is not UTF-8 is an error too.
    let (text, docs) = yaml::load_bytes(data.to_vec());
    match docs {
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
