//! The `luckygas` command line: a thin entry point over [`planner_api::cli`].

fn main() -> std::process::ExitCode {
    planner_api::cli::main()
}
