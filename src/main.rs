//! `whisker`: natively the command line; compiled to wasm, the web app (mounted by Trunk).

#[cfg(all(not(target_arch = "wasm32"), feature = "engine"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = whisker::cli::Cli::parse();
    match whisker::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The command line is the engine's (the `engine` feature, on by default).
#[cfg(all(not(target_arch = "wasm32"), not(feature = "engine")))]
fn main() {
    eprintln!("error: this `whisker` was built without the `engine` feature");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Synthesised by wasm-ld: runs the static constructors (cubecl registers its IR dialects
    /// through `inventory`).
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // Run the constructors once, here. Without an explicit call wasm-ld treats the module as a
    // "command" and runs every constructor again at the start of *each* export, i.e. on every
    // call from JavaScript into the wasm (each event handler, each resolved promise): measured at
    // over a second of the page's time during one training run. See the `inventory` crate docs.
    unsafe { __wasm_call_ctors() };
    whisker::web::start();
}
