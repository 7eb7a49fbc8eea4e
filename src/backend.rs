//! Which Burn device the models run on.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind};

/// The compute backend asked for on the command line or in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The CPU: without a way to tell a real GPU from a software adapter (lavapipe), the safe
    /// pick. On lavapipe wgpu is ~10x slower than flex and wrong for reductions longer than
    /// 65,536 elements (see the stack notes).
    #[default]
    Auto,
    /// Burn's flex backend: pure Rust, always available.
    Cpu,
    /// burn-wgpu on wgpu's default adapter.
    Wgpu,
}

impl BackendChoice {
    pub fn device(self) -> Device {
        match self {
            BackendChoice::Auto | BackendChoice::Cpu => Device::flex(),
            BackendChoice::Wgpu => Device::wgpu(DeviceKind::DefaultDevice),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (expected auto, cpu or wgpu)")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendChoice {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" | "flex" => Ok(BackendChoice::Cpu),
            "wgpu" => Ok(BackendChoice::Wgpu),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Wgpu => "wgpu",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!("auto".parse(), Ok(BackendChoice::Auto));
        assert_eq!("CPU".parse(), Ok(BackendChoice::Cpu));
        assert_eq!("wgpu".parse(), Ok(BackendChoice::Wgpu));
        assert!("cuda".parse::<BackendChoice>().is_err());
        for b in [BackendChoice::Auto, BackendChoice::Cpu, BackendChoice::Wgpu] {
            assert_eq!(b.to_string().parse(), Ok(b));
        }
    }
}
