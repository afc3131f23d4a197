//! The native command line, `whisker train | predict | eval | report`; the first three over the
//! same [`Session`] as the web app's engine.
//!
//! [`Session`]: crate::ml::session::Session

mod args;
mod data;
mod error;
mod eval;
pub mod images;
mod output;
mod predict;
mod report;
mod runtime;
mod train;

pub use args::Cli;
pub use error::CliError;

/// Runs the CLI; errors are for the caller to print as one line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        args::Command::Train(args) => train::train(args),
        args::Command::Predict(args) => predict::predict(args),
        args::Command::Eval(args) => eval::eval(args),
        args::Command::Report(args) => report::report(args),
    }
}
