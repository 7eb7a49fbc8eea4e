//! Writer schemas fetched from a Confluent schema registry (`GET <url>/schemas/ids/<id>`),
//! kept on disk so that each id is fetched once per machine.
//!
//! The client is libcurl (already linked for librdkafka), so `https://` registries such as
//! Rubin's work as `http://` ones do, through the proxy the environment names
//! (`https_proxy`), with the system's certificate authorities.

use std::path::{Path, PathBuf};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The 11.x alert schema is about 60 kB; a reply far larger is not a schema.
const MAX_REPLY: usize = 16 << 20;

/// Why a registry gave no schema.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {url}: the URL must start with http:// or https://")]
    NotHttp { url: String },
    #[error("registry {url} unreachable: {source}")]
    Unreachable { url: String, source: curl::Error },
    #[error("registry {target}: reply longer than {} MiB: not a schema", MAX_REPLY >> 20)]
    TooLong { target: String },
    #[error("registry {target}: {problem}")]
    Reply {
        target: String,
        #[source]
        problem: ReplyError,
    },
}

/// Why a registry's reply holds no schema.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// Not 200; the start of the body says why (the registry's own message).
    #[error("HTTP {status}: {body}")]
    Status { status: u32, body: String },
    #[error("reply is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("reply has no \"schema\" string")]
    NoSchema,
}

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
    pub fn schema_text(&self, id: u32) -> Result<String, RegistryError> {
        let cached = self.cache_file(id);
        if let Ok(text) = std::fs::read_to_string(&cached) {
            return Ok(text);
        }
        let text = self.fetch(id)?;
        // A cache that cannot be written costs a fetch next time, not this read.
        let _ = write_atomically(&cached, &text);
        Ok(text)
    }

    fn fetch(&self, id: u32) -> Result<String, RegistryError> {
        let target = format!("{}/schemas/ids/{id}", self.url);
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(RegistryError::NotHttp {
                url: self.url.clone(),
            });
        }
        let down = |source: curl::Error| RegistryError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let mut easy = curl::easy::Easy::new();
        easy.url(&target).map_err(down)?;
        easy.connect_timeout(CONNECT_TIMEOUT).map_err(down)?;
        easy.timeout(IO_TIMEOUT).map_err(down)?;
        easy.follow_location(true).map_err(down)?;
        let mut headers = curl::easy::List::new();
        headers
            .append("Accept: application/vnd.schemaregistry.v1+json, application/json")
            .map_err(down)?;
        easy.http_headers(headers).map_err(down)?;
        let mut body = Vec::new();
        let mut too_long = false;
        let performed = {
            let mut transfer = easy.transfer();
            transfer
                .write_function(|data| {
                    if body.len() + data.len() > MAX_REPLY {
                        too_long = true;
                        // Fewer bytes taken than given: libcurl stops the transfer.
                        return Ok(0);
                    }
                    body.extend_from_slice(data);
                    Ok(data.len())
                })
                .map_err(down)?;
            transfer.perform()
        };
        if too_long {
            return Err(RegistryError::TooLong { target });
        }
        performed.map_err(down)?;
        let status = easy.response_code().map_err(down)?;
        parse_reply(status, &body).map_err(|problem| RegistryError::Reply { target, problem })
    }
}

/// The `schema` string of a registry reply, or why there is none.
fn parse_reply(status: u32, body: &[u8]) -> Result<String, ReplyError> {
    if status != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        return Err(ReplyError::Status {
            status,
            body: text.trim().to_string(),
        });
    }
    let json: serde_json::Value = serde_json::from_slice(body).map_err(ReplyError::NotJson)?;
    json["schema"]
        .as_str()
        .map(str::to_string)
        .ok_or(ReplyError::NoSchema)
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
        let ok = b"{\"schema\":\"{\\\"type\\\":\\\"int\\\"}\"}";
        assert_eq!(
            parse_reply(200, ok).ok().as_deref(),
            Some("{\"type\":\"int\"}")
        );
        let missing = b"{\"error_code\":40403,\"message\":\"Schema not found\"}";
        assert!(parse_reply(404, missing).is_err_and(|e| {
            let e = e.to_string();
            e.contains("404") && e.contains("not found")
        }));
        assert!(parse_reply(200, b"garbage").is_err());
        assert!(parse_reply(200, b"{}").is_err_and(|e| e.to_string().contains("no \"schema\"")));
    }

    #[test]
    fn https_is_spoken_and_a_cached_schema_needs_no_registry() {
        // A listener that answers a TLS handshake with plain text: the client tried TLS.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nnot TLS");
            }
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("https://127.0.0.1:{port}");
        let registry = SchemaRegistry::new(&url, Some(dir.path().into()));
        let e = registry
            .schema_text(1000)
            .expect_err("not a TLS server")
            .to_string();
        assert!(e.contains(&url) && e.contains("unreachable"), "{e}");
        assert!(
            e.to_ascii_lowercase().contains("ssl") || e.contains("TLS"),
            "{e}"
        );
        std::fs::write(dir.path().join("1000.avsc"), "{\"type\":\"int\"}").expect("write");
        assert_eq!(
            registry.schema_text(1000).ok().as_deref(),
            Some("{\"type\":\"int\"}")
        );
        let ftp = SchemaRegistry::new("ftp://example.org", Some(dir.path().join("ftp")));
        assert!(ftp
            .schema_text(1000)
            .is_err_and(|e| e.to_string().contains("http:// or https://")));
    }
}
