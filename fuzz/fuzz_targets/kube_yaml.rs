//! What the Kubernetes steps print as YAML (for diffs) must read back as the same
//! object: any document the parser accepts, printed, parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::yaml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(docs) = yaml::documents(text) else { return };
    for doc in docs {
        let printed = yaml::print(&doc);
        let again = yaml::documents(&printed).expect("printed YAML parses");
        assert_eq!(again, vec![doc], "printed as:\n{printed}");
    }
});
