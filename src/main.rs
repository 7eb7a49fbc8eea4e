use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = stampseq::cli::Cli::parse();
    match stampseq::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", stampseq::errors::error_text(e.as_ref()));
            std::process::ExitCode::from(2)
        }
    }
}

// Decoding an alert allocates thousands of small values (the Avro record tree); mimalloc
// makes that markedly cheaper than glibc's allocator on many threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
