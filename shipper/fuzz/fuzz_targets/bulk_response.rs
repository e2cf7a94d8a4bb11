//! See `shipper::fuzzing::bulk_response` for what is checked.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shipper::fuzzing::bulk_response(data));
