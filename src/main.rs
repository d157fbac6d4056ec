fn main() -> std::process::ExitCode {
    guarded_aws_mcp::cli::main()
}
