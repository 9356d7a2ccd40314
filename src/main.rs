//! The `traceval` command: parse arguments, run, map the outcome to an exit code.

fn main() {
    std::process::exit(traceval::main());
}
