#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| whydns_fuzz::packet_cache(data));
