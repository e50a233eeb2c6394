//! The `plumb` command: a thin shell over the library's stages.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
