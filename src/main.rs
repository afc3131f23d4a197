//! `whisker`: natively the command line; compiled to wasm, the web app's page (mounted by Trunk).

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

/// The page: mounts the app. Its engine is another wasm (`src/bin/whisker-engine.rs`).
#[cfg(target_arch = "wasm32")]
fn main() {
    whisker::web::start();
}
