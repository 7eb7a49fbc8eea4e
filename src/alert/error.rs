use super::lsst::{SchemaError, SchemaVersion};
use std::fmt;
use std::sync::Arc;

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

/// What went wrong. Each variant says enough for the user to act on it, and keeps the
/// error it comes from (shared, so that a read's report can be cloned).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("cannot open: {0}")]
    Io(#[source] Arc<std::io::Error>),
    #[error("not a readable Avro container file: {0}")]
    NotAvro(#[source] AvroError),
    /// A file none of the readers recognises by its first bytes (its name is no help: a
    /// broker's `.parquet` may hold Avro, a `.avro` may be gzipped).
    #[error("{}", unknown_format(start))]
    UnknownFormat { start: Vec<u8> },
    #[error("corrupt Avro data: {0}")]
    CorruptAvro(#[source] AvroError),
    #[error("not an alert record: {0}")]
    NotAnAlert(String),
    #[error("{cutout}: {problem}")]
    Cutout {
        cutout: &'static str,
        #[source]
        problem: CutoutError,
    },
    #[error("not a Confluent-framed message: {0}")]
    Framing(#[source] FrameError),
    #[error("writer schema: {0}")]
    Schema(#[source] SchemaError),
    #[error("Parquet: {0}")]
    Parquet(#[source] ParquetReadError),
    #[error("{0}")]
    OtherSurvey(String),
    #[error("archive: {0}")]
    Archive(#[source] ArchiveError),
    #[error("gzip: {0}")]
    Gzip(#[source] GzipError),
    #[error("internal error while decoding (please report): {0}")]
    Panic(#[source] DecoderPanic),
}

fn unknown_format(start: &[u8]) -> String {
    if start.is_empty() {
        return "empty: no bytes to read".into();
    }
    format!(
        "no alert format recognised: it starts with {start:02x?}, where an Avro container file starts \
         with 'Obj\\x01', a Parquet file with 'PAR1', a framed LSST message with a zero byte \
         and a gzipped file with 1f 8b"
    )
}

impl ReadErrorKind {
    /// An I/O error of the file itself (opening, reading).
    pub fn io(e: std::io::Error) -> Self {
        Self::Io(Arc::new(e))
    }
}

impl From<DecoderPanic> for ReadErrorKind {
    fn from(panic: DecoderPanic) -> Self {
        Self::Panic(panic)
    }
}

/// What is wrong with an Avro object container (the spec's header, blocks and sync
/// markers) or with one datum in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AvroError {
    #[error("unexpected end of data")]
    Truncated,
    #[error("malformed variable-length integer")]
    MalformedInteger,
    #[error("negative {what} length {length}")]
    NegativeLength { what: &'static str, length: i64 },
    #[error("{what} of {length} bytes runs past the end of the file ({left} left): truncated?")]
    PastTheEnd {
        what: &'static str,
        length: usize,
        left: usize,
    },
    #[error("no Avro magic bytes 'Obj\\x01' at the start")]
    NoMagic,
    #[error("{what} is not UTF-8")]
    NotUtf8 {
        what: &'static str,
        #[source]
        source: std::str::Utf8Error,
    },
    #[error("no avro.schema")]
    NoSchema,
    #[error("writer schema: {0}")]
    WriterSchema(#[source] Arc<apache_avro::Error>),
    /// (apache-avro's parse error for a codec name says no more than that it is unknown.)
    #[error("unsupported codec {codec:?}")]
    UnsupportedCodec { codec: String },
    #[error("header ends before its sync marker")]
    NoSyncMarker,
    #[error("block not followed by the file's sync marker")]
    SyncMismatch,
    #[error("negative record count {0}")]
    NegativeCount(i64),
    #[error("{codec} block: {source}")]
    Block {
        codec: String,
        source: Arc<apache_avro::Error>,
    },
    /// A record that does not decode with the file's writer schema.
    #[error("{0}")]
    Record(#[source] Arc<apache_avro::Error>),
    /// A framed message that does not decode with the schema its id names.
    #[error("message with schema id {} ({version}) is truncated or corrupt: {source}", version.id())]
    Message {
        version: SchemaVersion,
        source: Arc<apache_avro::Error>,
    },
}

/// Why a cutout cannot be read: its gzip, its FITS, or what an image HDU holds. Errors of
/// the FITS reader are kept, shared, so that a read's report can be cloned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CutoutError {
    #[error("not gzip data (starts with {start:02x?})")]
    NotGzip { start: Vec<u8> },
    #[error("gzip trailer gives an implausible size of {size} bytes (truncated or corrupt)")]
    ImplausibleSize { size: usize },
    #[error("gzip: {written} bytes decompressed, trailer says {size}")]
    ShortStream { written: usize, size: usize },
    /// libdeflate's `BadData`, which says no more than this.
    #[error("gzip: corrupt or truncated stream")]
    CorruptStream,
    /// libdeflate's `InsufficientSpace`: more data than the trailer's size.
    #[error("gzip: stream longer than its trailer says (corrupt)")]
    LongStream,
    #[error("FITS: not a FITS file ({length} bytes, a FITS file is at least 2880)")]
    NotFits { length: usize },
    /// cfitsio could not open the bytes; its status and its words for it.
    #[error("FITS: cannot open (cfitsio status {status}: {message})")]
    Open { status: i32, message: String },
    #[error("FITS: {0}")]
    Fits(#[source] Arc<fitsio::errors::Error>),
    #[error("FITS: {hdu} has {} axes {shape:?}, a stamp needs 2", shape.len())]
    NotTwoAxes { hdu: String, shape: Vec<usize> },
    #[error("FITS: {hdu} is not an image")]
    NotAnImage { hdu: String },
    #[error("FITS: image of {width}x{height} pixels is not a cutout stamp")]
    NotAStamp { width: usize, height: usize },
    #[error("FITS: reading pixels: {0}")]
    Pixels(#[source] Arc<fitsio::errors::Error>),
    #[error("FITS: {read} pixels read for a {width}x{height} image")]
    PixelCount {
        read: usize,
        width: usize,
        height: usize,
    },
    /// An extension HDU (an LSST cutout's variance or PSF) that is there but unreadable.
    #[error("{what} HDU {hdu}: {problem}")]
    Extension {
        what: &'static str,
        hdu: &'static str,
        #[source]
        problem: Box<CutoutError>,
    },
    /// An extension HDU that is not in the file, with cfitsio's error for it.
    #[error("FITS: no {hdu} HDU ({what}); the file is cut short or not an LSST cutout")]
    MissingExtension {
        what: &'static str,
        hdu: &'static str,
        #[source]
        source: Arc<fitsio::errors::Error>,
    },
    #[error("variance is {variance}, the image {image}")]
    VarianceShape { variance: String, image: String },
    /// A cutout field of the record that holds no bytes.
    #[error("{field} is {found}, not bytes")]
    NotBytes {
        field: &'static str,
        found: &'static str,
    },
    #[error("cutout record has no stampData")]
    NoStampData,
}

/// Why the Confluent header of a message is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("truncated: {length} bytes, a framed message has a 5-byte header and a body")]
    Truncated { length: usize },
    #[error("starts with 0x{first:02x}, not the magic byte 0x00")]
    NoMagicByte { first: u8 },
}

/// Why a gzipped alert file does not unzip.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GzipError {
    #[error("gzipped twice: unzip it once first")]
    Twice,
    #[error("cannot unzip (truncated or corrupt?): {0}")]
    Corrupt(#[source] Arc<std::io::Error>),
    #[error("unzips to more than {gib} GiB: not one alert file")]
    TooLarge { gib: u64 },
}

/// Why a tar archive, or a member of it, cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Unreadable(#[source] Arc<std::io::Error>),
    #[error("truncated or corrupt: {0}")]
    Corrupt(#[source] Arc<std::io::Error>),
}

/// Why a broker's Parquet copy, or a row of it, cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ParquetReadError {
    #[error("not a readable Parquet file: {0}")]
    NotParquet(#[source] Arc<parquet::errors::ParquetError>),
    #[error("{0}")]
    Rows(#[source] Arc<parquet::errors::ParquetError>),
    #[error("corrupt row: {0}")]
    CorruptRow(#[source] Arc<parquet::errors::ParquetError>),
    #[error("corrupt data (the reader gave up: {0})")]
    GaveUp(#[source] DecoderPanic),
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
pub struct DecoderPanic {
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
