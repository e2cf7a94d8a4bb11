//! See `shipper::fuzzing::json` for what is checked.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shipper::fuzzing::json(data));
