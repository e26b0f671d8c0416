//! The fuzz target: every parser entry point (fuzz/src/everything.rs).

#[path = "../everything.rs"]
mod everything;

fn main() {
    afl::fuzz!(|data: &[u8]| everything::everything(data));
}
