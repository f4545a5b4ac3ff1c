//! The image-reference parser must accept or reject any string, never panic, and
//! what it accepts must print back to a reference that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::policy::image_ref::ImageRef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(image) = ImageRef::parse(text) {
        let again = ImageRef::parse(&image.to_string()).expect("a parsed reference prints back to a valid one");
        assert_eq!(image, again);
    }
});
