#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vbank_fuzz::notice(vbank_core::PgProvider::Html5Inicis, data));
