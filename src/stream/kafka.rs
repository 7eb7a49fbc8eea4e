//! Connecting to a Kafka cluster: the client settings every stream command shares.

use rdkafka::ClientConfig;

/// The environment variable a SASL password is read from (never a command-line argument,
/// which other users of the machine can see in the process list).
pub const PASSWORD_ENV: &str = "STAMPSEQ_KAFKA_PASSWORD";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [Self; 4] = [
        Self::Plaintext,
        Self::Ssl,
        Self::SaslPlaintext,
        Self::SaslSsl,
    ];

    /// librdkafka's name, which the app's dialog shows too.
    pub fn as_kafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("{protocol} needs a user name (--username) and a password in ${PASSWORD_ENV}")]
    MissingCredentials { protocol: &'static str },
    #[error("a Kafka option is KEY=VALUE, not {0:?}")]
    BadOption(String),
}

/// How to reach and authenticate to the brokers.
#[derive(Debug, Clone, Default)]
pub struct KafkaOptions {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    pub security: SecurityProtocol,
    /// SASL mechanism: SCRAM-SHA-512 (what the public alert streams use), SCRAM-SHA-256 or
    /// PLAIN.
    pub sasl_mechanism: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Any librdkafka property, as `-X key=value` of kcat.
    pub extra: Vec<(String, String)>,
}

impl KafkaOptions {
    pub fn new(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_string(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            ..Self::default()
        }
    }

    /// Takes the password from [`PASSWORD_ENV`] when SASL is asked for.
    pub fn with_password_from_env(mut self) -> Self {
        if self.password.is_none() {
            self.password = std::env::var(PASSWORD_ENV).ok();
        }
        self
    }

    /// Parses `key=value` options.
    pub fn parse_extra(items: &[String]) -> Result<Vec<(String, String)>, KafkaSetupError> {
        items
            .iter()
            .map(|s| {
                s.split_once('=')
                    .filter(|(k, _)| !k.trim().is_empty())
                    .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                    .ok_or_else(|| KafkaSetupError::BadOption(s.clone()))
            })
            .collect()
    }

    pub fn client_config(&self) -> Result<ClientConfig, KafkaSetupError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("security.protocol", self.security.as_kafka())
            // Quiet librdkafka's own log lines; errors reach us as results and callbacks.
            .set("log_level", "3");
        if self.security.uses_sasl() {
            let (Some(user), Some(password)) = (&self.username, &self.password) else {
                return Err(KafkaSetupError::MissingCredentials {
                    protocol: self.security.as_kafka(),
                });
            };
            config
                .set("sasl.mechanism", &self.sasl_mechanism)
                .set("sasl.username", user)
                .set("sasl.password", password);
        }
        for (k, v) in &self.extra {
            config.set(k, v);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_without_credentials_is_refused_before_connecting() {
        let mut o = KafkaOptions::new("localhost:9092");
        o.security = SecurityProtocol::SaslSsl;
        let err = o.client_config().expect_err("no credentials");
        assert!(err.to_string().contains(PASSWORD_ENV), "{err}");
        o.username = Some("astro".into());
        o.password = Some("secret".into());
        let c = o.client_config().expect("config");
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
    }

    #[test]
    fn extra_options_are_key_value() {
        let ok = KafkaOptions::parse_extra(&["session.timeout.ms=6000".into()]).expect("ok");
        assert_eq!(ok, vec![("session.timeout.ms".into(), "6000".into())]);
        assert!(KafkaOptions::parse_extra(&["nonsense".into()]).is_err());
        assert!(KafkaOptions::parse_extra(&["=1".into()]).is_err());
    }
}
