//! An error and its causes as one line, for the edges (the command line, the app's
//! messages). Many errors name their cause in their own message, as `thiserror` messages
//! with `{source}` do, and a cause's cause often repeats it too: printed link by link the
//! same words came two or three times ("...: incomplete metadata: incomplete metadata").

/// The error's message, then each cause that adds something to what was said before it,
/// joined by ": ".
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: not a model ({source})")]
    struct Repeats {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: not a model")]
    struct Chains {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    fn io(what: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
    }

    #[test]
    fn a_cause_the_message_already_names_is_said_once() {
        let e = Repeats {
            path: "m.stampseq",
            source: io("incomplete metadata"),
        };
        assert_eq!(
            error_text(&e),
            "m.stampseq: not a model (incomplete metadata)"
        );
        let e = anyhow::Error::new(e).context("loading the model");
        assert_eq!(
            error_text(e.as_ref()),
            "loading the model: m.stampseq: not a model (incomplete metadata)"
        );
    }

    #[test]
    fn a_cause_the_message_does_not_name_is_added() {
        let e = Chains {
            path: "m.stampseq",
            source: io("incomplete metadata"),
        };
        assert_eq!(
            error_text(&e),
            "m.stampseq: not a model: incomplete metadata"
        );
    }
}
