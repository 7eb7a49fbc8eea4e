//! Which Burn device the models run on.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind};

/// The compute backend asked for on the command line or in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// wgpu when a hardware GPU adapter exists, else [`BackendChoice::Cpu`]. On lavapipe wgpu
    /// is ~10x slower than flex and wrong for reductions longer than 65,536 elements.
    #[default]
    Auto,
    /// The CPU: for inference, the stamp encoder on stampseq's own kernels
    /// ([`crate::model::cpu_infer`], several times faster) and the rest on burn flex; for
    /// training, burn flex with autodiff.
    Cpu,
    /// Burn's flex backend alone (pure Rust, always available): the reference the CPU
    /// kernels are tested and benchmarked against.
    Flex,
    /// Burn's ndarray backend, for comparison (cargo feature `ndarray`).
    #[cfg(feature = "ndarray")]
    Ndarray,
    /// burn-wgpu on wgpu's default adapter.
    Wgpu,
}

impl BackendChoice {
    pub fn device(self) -> Device {
        self.resolve().device
    }

    /// The device to run on and a sentence saying what it is. `Auto` takes wgpu only when a
    /// hardware GPU adapter exists; a software adapter (lavapipe, llvmpipe) is slower than
    /// the CPU backend and wrong on long reductions, so it never counts.
    pub fn resolve(self) -> ResolvedBackend {
        match self {
            BackendChoice::Cpu => cpu("CPU (stampseq conv kernels + burn flex), as asked"),
            BackendChoice::Flex => ResolvedBackend {
                device: Device::flex(),
                description: "CPU (burn flex), as asked".into(),
                is_gpu: false,
                cpu_kernels: false,
            },
            #[cfg(feature = "ndarray")]
            BackendChoice::Ndarray => ResolvedBackend {
                // Deprecated by burn 0.22 in favour of flex; here only to compare the two.
                #[allow(deprecated)]
                device: Device::ndarray(),
                description: "CPU (burn ndarray), as asked".into(),
                is_gpu: false,
                cpu_kernels: false,
            },
            BackendChoice::Wgpu => ResolvedBackend {
                device: Device::wgpu(DeviceKind::DefaultDevice),
                description: match gpu_adapters().first() {
                    Some(gpu) => format!("wgpu on {gpu}"),
                    None => {
                        "wgpu on the default adapter (no hardware GPU found: software rendering)"
                            .into()
                    }
                },
                is_gpu: true,
                cpu_kernels: false,
            },
            BackendChoice::Auto => match gpu_adapters().into_iter().next() {
                Some(gpu) => ResolvedBackend {
                    device: Device::wgpu(DeviceKind::DefaultDevice),
                    description: format!("wgpu on {gpu} (auto: a hardware GPU was found)"),
                    is_gpu: true,
                    cpu_kernels: false,
                },
                None => cpu(
                    "CPU (stampseq conv kernels + burn flex) (auto: no hardware GPU adapter found)",
                ),
            },
        }
    }
}

fn cpu(description: &str) -> ResolvedBackend {
    ResolvedBackend {
        device: Device::flex(),
        description: description.into(),
        is_gpu: false,
        cpu_kernels: true,
    }
}

impl ResolvedBackend {
    /// The words for training, which runs on Burn whatever the inference path.
    pub fn training_description(&self) -> String {
        if self.cpu_kernels {
            self.description
                .replace("stampseq conv kernels + burn flex", "burn flex")
        } else {
            self.description.clone()
        }
    }
}

/// A device with the words for the status bar and the logs.
#[derive(Clone)]
pub struct ResolvedBackend {
    pub device: Device,
    pub description: String,
    pub is_gpu: bool,
    /// Inference runs the stamp encoder on [`crate::model::cpu_infer`] (training ignores it).
    pub cpu_kernels: bool,
}

/// Names of the hardware GPU adapters wgpu can see (software adapters left out).
pub fn gpu_adapters() -> Vec<String> {
    use egui_wgpu::wgpu;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters
        .into_iter()
        .map(|a| a.get_info())
        .filter(|i| {
            matches!(
                i.device_type,
                wgpu::DeviceType::DiscreteGpu
                    | wgpu::DeviceType::IntegratedGpu
                    | wgpu::DeviceType::VirtualGpu
            )
        })
        .map(|i| format!("{} ({:?})", i.name, i.backend))
        .collect()
}

/// The first adapter wgpu can see, software ones (lavapipe) included: whether anything drawn
/// or computed through wgpu can run at all here.
pub fn any_wgpu_adapter() -> Option<String> {
    use egui_wgpu::wgpu;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters.into_iter().next().map(|a| {
        let info = a.get_info();
        format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
    })
}

const NDARRAY: &str = if cfg!(feature = "ndarray") {
    ", ndarray"
} else {
    ""
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (expected auto, cpu, flex{NDARRAY} or wgpu)")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendChoice {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "flex" => Ok(BackendChoice::Flex),
            #[cfg(feature = "ndarray")]
            "ndarray" => Ok(BackendChoice::Ndarray),
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
            BackendChoice::Flex => "flex",
            #[cfg(feature = "ndarray")]
            BackendChoice::Ndarray => "ndarray",
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
        assert_eq!("flex".parse(), Ok(BackendChoice::Flex));
        assert!("cuda".parse::<BackendChoice>().is_err());
        for b in [
            BackendChoice::Auto,
            BackendChoice::Cpu,
            BackendChoice::Flex,
            BackendChoice::Wgpu,
        ] {
            assert_eq!(b.to_string().parse(), Ok(b));
        }
    }
}
