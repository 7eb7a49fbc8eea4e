use std::fmt;

/// One thing that went wrong while reading the input, with where it happened.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
pub struct ReadError {
    /// The file (or `archive.tar.gz!member.avro`) the problem is in.
    pub file: String,
    /// Index of the Avro record inside the file, when the problem belongs to one record.
    pub record: Option<usize>,
    #[serde(rename = "error")]
    pub kind: ReadErrorKind,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(r) => write!(f, "{} (record {}): {}", self.file, r, self.kind),
            None => write!(f, "{}: {}", self.file, self.kind),
        }
    }
}

/// What went wrong. Each variant says enough for the user to act on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("cannot open: {0}")]
    Io(String),
    #[error("not a readable Avro container file: {0}")]
    NotAvro(String),
    #[error("corrupt Avro data: {0}")]
    CorruptAvro(String),
    #[error("not a ZTF alert record: {0}")]
    NotAnAlert(String),
    #[error("{cutout}: {problem}")]
    Cutout {
        cutout: &'static str,
        problem: String,
    },
    #[error("not a Confluent-framed message: {0}")]
    Framing(String),
    #[error("writer schema: {0}")]
    Schema(String),
    #[error("Parquet: {0}")]
    Parquet(String),
    #[error("{0}")]
    OtherSurvey(String),
    #[error("archive: {0}")]
    Archive(String),
    #[error("gzip: {0}")]
    Gzip(String),
    #[error("internal error while decoding (please report): {0}")]
    Panic(String),
}

impl serde::Serialize for ReadErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl ReadError {
    pub fn new(file: impl Into<String>, record: Option<usize>, kind: ReadErrorKind) -> Self {
        Self {
            file: file.into(),
            record,
            kind,
        }
    }

    pub fn path(file: &std::path::Path, record: Option<usize>, kind: ReadErrorKind) -> Self {
        Self::new(file.display().to_string(), record, kind)
    }
}

/// A panic inside a decoder, caught; its message is what the panic said.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct DecoderPanic {
    pub message: String,
}

/// Runs one decoder with a guard: a panic inside it (a corrupt file can make a dependency
/// panic) comes back as an error, so that it costs that file, not the whole read. Every
/// decoder that must never panic goes through here.
pub(crate) fn catch_decoder_panic<T>(decode: impl FnOnce() -> T) -> Result<T, DecoderPanic> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        DecoderPanic { message }
    })
}
