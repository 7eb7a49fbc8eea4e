//! Writer schemas fetched from a Confluent schema registry (`GET <url>/schemas/ids/<id>`),
//! kept on disk so that each id is fetched once per machine.
//!
//! The client is a few lines of plain HTTP/1.0 over `std::net` (1.0, so that the body is
//! never chunked): an HTTP stack with TLS would double the dependency tree for one GET per
//! schema version. An `https://` registry is therefore refused with what to do instead
//! (fetch the schema once with curl into the cache folder, or point `--lsst-schemas` at a
//! copy of alert_packet's folder).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The 11.x alert schema is about 60 kB; a reply far larger is not a schema.
const MAX_REPLY: u64 = 16 << 20;

/// A registry and the folder its schemas are cached in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaRegistry {
    pub url: String,
    pub cache: PathBuf,
}

impl SchemaRegistry {
    /// The registry at `url`, caching under `cache` (default: the user's cache folder,
    /// `stampseq/schema-registry/<host_port>`).
    pub fn new(url: &str, cache: Option<PathBuf>) -> Self {
        let url = url.trim_end_matches('/').to_string();
        let cache = cache.unwrap_or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir);
            let host: String = url
                .split("://")
                .nth(1)
                .unwrap_or(&url)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            base.join("stampseq").join("schema-registry").join(host)
        });
        Self { url, cache }
    }

    fn cache_file(&self, id: u32) -> PathBuf {
        self.cache.join(format!("{id}.avsc"))
    }

    /// The schema text for an id: from the cache, else from the registry (then cached).
    pub fn schema_text(&self, id: u32) -> Result<String, String> {
        let cached = self.cache_file(id);
        if let Ok(text) = std::fs::read_to_string(&cached) {
            return Ok(text);
        }
        let text = self.fetch(id)?;
        // A cache that cannot be written costs a fetch next time, not this read.
        let _ = write_atomically(&cached, &text);
        Ok(text)
    }

    fn fetch(&self, id: u32) -> Result<String, String> {
        let target = format!("{}/schemas/ids/{id}", self.url);
        let Some(rest) = self.url.strip_prefix("http://") else {
            return Err(format!(
                "registry {}: only http:// is supported (no TLS client is built in); fetch \
                 {target} once (e.g. with curl), save its \"schema\" value as {}, or use \
                 --lsst-schemas",
                self.url,
                self.cache_file(id).display()
            ));
        };
        let (authority, base_path) = rest.split_once('/').unwrap_or((rest, ""));
        let host_port = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let down = |e: &dyn std::fmt::Display| format!("registry {} unreachable: {e}", self.url);
        let addr = host_port
            .to_socket_addrs()
            .map_err(|e| down(&e))?
            .next()
            .ok_or_else(|| down(&"no address"))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| down(&e))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| down(&e))?;
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .map_err(|e| down(&e))?;
        let path = if base_path.is_empty() {
            format!("/schemas/ids/{id}")
        } else {
            format!("/{base_path}/schemas/ids/{id}")
        };
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/vnd.schemaregistry.v1+json, application/json\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).map_err(|e| down(&e))?;
        let mut reply = Vec::new();
        stream
            .take(MAX_REPLY)
            .read_to_end(&mut reply)
            .map_err(|e| down(&e))?;
        parse_reply(&reply).map_err(|e| format!("registry {target}: {e}"))
    }
}

/// The `schema` string of a registry reply, or why there is none.
fn parse_reply(reply: &[u8]) -> Result<String, String> {
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("reply has no HTTP header end")?;
    let head = String::from_utf8_lossy(&reply[..split]);
    let body = &reply[split + 4..];
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("reply has no HTTP status")?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        return Err(format!("HTTP {status}: {}", text.trim()));
    }
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("reply is not JSON: {e}"))?;
    json["schema"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "reply has no \"schema\" string".to_string())
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_give_the_schema_or_the_status() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"schema\":\"{\\\"type\\\":\\\"int\\\"}\"}";
        assert_eq!(parse_reply(ok).as_deref(), Ok("{\"type\":\"int\"}"));
        let missing = b"HTTP/1.1 404 Not Found\r\n\r\n{\"error_code\":40403,\"message\":\"Schema not found\"}";
        assert!(parse_reply(missing).is_err_and(|e| e.contains("404") && e.contains("not found")));
        assert!(parse_reply(b"garbage").is_err());
    }

    #[test]
    fn https_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = SchemaRegistry::new("https://example.org", Some(dir.path().into()));
        let e = registry.schema_text(1000).expect_err("no TLS");
        assert!(e.contains("only http://") && e.contains("1000.avsc"), "{e}");
        std::fs::write(dir.path().join("1000.avsc"), "{\"type\":\"int\"}").expect("write");
        assert_eq!(
            registry.schema_text(1000).as_deref(),
            Ok("{\"type\":\"int\"}")
        );
    }
}
