use std::process::ExitCode;

fn main() -> ExitCode {
    ops::main()
}
