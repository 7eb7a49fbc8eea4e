//! Progress bars on standard error for long reads (hidden when stderr is not a terminal).

use crate::alert::ReadProgress;
use indicatif::{ProgressBar, ProgressStyle};

pub fn read_bar(total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} reading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

pub fn update(bar: &ProgressBar, p: ReadProgress) {
    bar.set_position(p.bytes_done);
    bar.set_message(format!("{} alerts", p.alerts));
}

pub fn count_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
