//! Inputs that crashed the fuzzer (scripts/fuzz.sh), kept as regression
//! tests: each goes through every entry point the fuzz target calls. Test
//! builds check arithmetic overflow, as the fuzz build does.

/// The body of the fuzz target, shared with it.
#[path = "../fuzz/src/everything.rs"]
mod everything;
use everything::everything;

#[test]
fn crashes_found_by_the_fuzzer() {
    let mut n = 0;
    for e in std::fs::read_dir("tests/data/fuzz-crashes").unwrap() {
        let p = e.unwrap().path();
        everything(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n >= 8, "the crashes of the first two fuzz runs");
}
