//! See `shipper::fuzzing::message` for what is checked.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shipper::fuzzing::message(data));
