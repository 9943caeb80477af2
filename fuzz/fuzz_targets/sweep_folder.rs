#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| popdecode_fuzz::readers::sweep_folder(data));
