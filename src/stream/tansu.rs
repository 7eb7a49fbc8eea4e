//! A tansu broker (a Kafka-compatible broker in one binary, Apache-2.0) started on a free
//! loopback port with in-memory storage: what `bench stream` and the tests run against.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum TansuError {
    #[error("no tansu broker found: give its path, set STAMPSEQ_TANSU, or install it with `cargo install tansu --version 0.6.0 --locked --features dynostore --root ~/.cache/stampseq-tools` (what .ci/run does)")]
    NotFound,
    #[error("tansu ({binary}): {what}: {source}")]
    Io {
        binary: PathBuf,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tansu ({0}) did not listen within 30 s")]
    NoListener(PathBuf),
    #[error("tansu could not create topic {0}")]
    Topic(String),
    #[error("building tansu with `{command}` failed ({status}); its output is in {log}")]
    Build {
        command: String,
        status: std::process::ExitStatus,
        log: PathBuf,
    },
}

/// The tansu release the stream tests and `bench stream` were checked against.
pub const TANSU_VERSION: &str = "0.6.0";

/// The cache `.ci/run` and [`install_into_cache`] install tansu into, outside any checkout
/// so that every clone and CI run reuses one build: `~/.cache/stampseq-tools`.
pub fn cache_root() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/stampseq-tools"))
}

/// The tansu binary: `given`, `$STAMPSEQ_TANSU`, the cache `.ci/run` installs into, or `PATH`.
pub fn find(given: Option<&PathBuf>) -> Result<PathBuf, TansuError> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("STAMPSEQ_TANSU") {
        return Ok(PathBuf::from(p));
    }
    let cached = cache_root()
        .map(|root| root.join("bin/tansu"))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("tansu"))
                .find(|p| p.is_file())
        })
    };
    cached.or_else(on_path).ok_or(TansuError::NotFound)
}

/// The tansu binary, built once with `cargo install` into [`cache_root`] when [`find`] finds
/// none: what lets `cargo test` bring its own broker. Processes and threads that ask at the
/// same time wait on one lock file, so it is built once; the build takes about 10 minutes
/// on two cores and says so on standard error before it starts.
pub fn find_or_install() -> Result<PathBuf, TansuError> {
    if let Ok(found) = find(None) {
        return Ok(found);
    }
    let root = cache_root().ok_or(TansuError::NotFound)?;
    let io = |what: &str| {
        let binary = root.join("bin/tansu");
        let what = what.to_string();
        move |source| TansuError::Io {
            binary,
            what,
            source,
        }
    };
    std::fs::create_dir_all(&root).map_err(io("creating the tool cache"))?;
    let lock = std::fs::File::create(root.join(".tansu-install.lock"))
        .map_err(io("creating the install lock"))?;
    lock.lock().map_err(io("waiting for the install lock"))?;
    // Another process may have finished the build while this one waited.
    if let Ok(found) = find(None) {
        return Ok(found);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let args = [
        "install",
        "tansu",
        "--version",
        TANSU_VERSION,
        "--locked",
        "--features",
        "dynostore",
        "--root",
    ];
    let command = format!(
        "{} {} {}",
        PathBuf::from(&cargo).display(),
        args.join(" "),
        root.display()
    );
    // Straight to the terminal, not through eprintln!: a test harness keeps what a passing
    // test prints to itself, and a ten-minute wait must be seen while it happens.
    say(&format!(
        "no tansu broker found: building it once with `{command}` (about 10 min on 2 cores; \
         later runs reuse it, and STAMPSEQ_TANSU=PATH names one you have)"
    ));
    let log_path = root.join("tansu-install.log");
    let log = std::fs::File::create(&log_path).map_err(io("creating the build log"))?;
    let log_err = log.try_clone().map_err(io("opening the build log"))?;
    let t0 = Instant::now();
    let status = Command::new(&cargo)
        .args(args)
        .arg(&root)
        // The broker's own build must not land in the caller's target folder.
        .env_remove("CARGO_TARGET_DIR")
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(io("running cargo install"))?;
    if !status.success() {
        return Err(TansuError::Build {
            command,
            status,
            log: log_path,
        });
    }
    say(&format!(
        "tansu built in {:.0} s",
        t0.elapsed().as_secs_f64()
    ));
    find(None)
}

fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A running broker; dropping it stops it.
pub struct Tansu {
    child: Child,
    binary: PathBuf,
    pub port: u16,
}

impl Tansu {
    pub fn start(binary: PathBuf) -> Result<Self, TansuError> {
        let io = |what: &str| {
            let binary = binary.clone();
            let what = what.to_string();
            move |source| TansuError::Io {
                binary,
                what,
                source,
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io("finding a free port"))?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("starting"))?;
        let broker = Self {
            child,
            binary,
            port,
        };
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(TansuError::NoListener(broker.binary.clone()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(broker)
    }

    /// `host:port` for Kafka clients.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<(), TansuError> {
        let status = Command::new(&self.binary)
            .args([
                "topic",
                "create",
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
                "--partitions",
                &partitions.to_string(),
                name,
            ])
            .stdout(Stdio::null())
            .status()
            .map_err(|source| TansuError::Io {
                binary: self.binary.clone(),
                what: format!("creating topic {name}"),
                source,
            })?;
        if !status.success() {
            return Err(TansuError::Topic(name.to_string()));
        }
        Ok(())
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
