//! See `shipper::fuzzing::payload` for what is checked.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shipper::fuzzing::payload(data));
