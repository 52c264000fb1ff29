//! Where training runs: Burn's wgpu backend on a GPU, or the `flex` CPU backend.
//! `auto` takes wgpu only on a real GPU adapter (a software one such as Mesa's lavapipe is
//! slower than `flex`), and says which it chose and why.

use burn::prelude::Device;
use burn::tensor::DeviceKind;
use std::cell::Cell;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The user's choice, as given by `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// A real GPU when wgpu finds one, else the CPU.
    #[default]
    Auto,
    /// wgpu on the best adapter it finds, software ones included.
    Gpu,
    /// The `flex` CPU backend.
    Cpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<DeviceChoice, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "gpu" => Ok(DeviceChoice::Gpu),
            "cpu" => Ok(DeviceChoice::Cpu),
            other => Err(format!("unknown device `{other}` (expected auto, gpu or cpu)")),
        }
    }
}

/// A device and a sentence about it for logs.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "--device gpu: wgpu found no graphics adapter (on Debian/Ubuntu, `apt-get install mesa-vulkan-drivers` gives a software one)"
    )]
    NoAdapter,
}

/// The graphics adapters wgpu can use: (name, kind), best first.
pub fn adapters() -> Vec<(String, wgpu::DeviceType)> {
    let instance = wgpu::Instance::default();
    let mut found: Vec<(String, wgpu::DeviceType)> =
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
            .into_iter()
            .map(|a| {
                let info = a.get_info();
                (format!("{} ({:?})", info.name, info.backend), info.device_type)
            })
            .collect();
    found.sort_by_key(|(_, kind)| rank(*kind));
    found
}

fn rank(kind: wgpu::DeviceType) -> u8 {
    match kind {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn is_hardware(kind: wgpu::DeviceType) -> bool {
    rank(kind) <= 2
}

fn wgpu_device(kind: wgpu::DeviceType) -> Device {
    Device::wgpu(match kind {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu(0),
        wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu(0),
        wgpu::DeviceType::VirtualGpu => DeviceKind::VirtualGpu(0),
        wgpu::DeviceType::Cpu => DeviceKind::Cpu,
        wgpu::DeviceType::Other => DeviceKind::DefaultDevice,
    })
}

/// Resolves a choice to a device.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice, DeviceError> {
    let cpu = |why: String| SelectedDevice { device: Device::flex(), description: format!("cpu (flex): {why}") };
    match choice {
        DeviceChoice::Cpu => Ok(cpu("asked for".into())),
        DeviceChoice::Gpu => match adapters().into_iter().next() {
            Some((name, kind)) => {
                Ok(SelectedDevice { device: wgpu_device(kind), description: format!("gpu (wgpu): {name}") })
            }
            None => Err(DeviceError::NoAdapter),
        },
        DeviceChoice::Auto => {
            let found = adapters();
            match found.iter().find(|(_, kind)| is_hardware(*kind)) {
                Some((name, kind)) => {
                    Ok(SelectedDevice { device: wgpu_device(*kind), description: format!("gpu (wgpu): {name}") })
                }
                None if found.is_empty() => Ok(cpu("wgpu found no graphics adapter".into())),
                None => Ok(cpu(format!(
                    "only software adapters ({}), slower than the CPU backend",
                    found.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
    }
}

/// Holds Burn's weight initialization for one seed: see [`seed_init`].
pub struct InitGuard(Option<MutexGuard<'static, ()>>);

static INIT: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds `INIT` (a trainer built inside another, such as GAIL's generator).
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// Seeds Burn's generator and keeps other threads from drawing from it until the guard drops.
/// Burn draws initial weights from one process-wide generator, so two trainers built at once
/// (parallel tests, the app's split view) took turns drawing and each got weights its seed
/// does not give; holding the guard across a trainer's constructor makes the seed decide.
pub fn seed_init(device: &Device, seed: u64) -> InitGuard {
    let guard = hold_init();
    device.seed(seed);
    guard
}

/// Keeps other threads from drawing initial weights until the guard drops, without seeding:
/// for loaders, which build a network with random weights before reading the saved ones.
pub fn hold_init() -> InitGuard {
    match HOLDING.get() {
        true => InitGuard(None),
        false => {
            let guard = INIT.lock().unwrap_or_else(PoisonError::into_inner);
            HOLDING.set(true);
            InitGuard(Some(guard))
        }
    }
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDING.set(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::floats;
    use burn::tensor::{Distribution, Tensor};

    #[test]
    fn trainers_built_at_once_get_the_weights_their_seed_gives() {
        let draw = |seed| {
            let device = Device::flex();
            let _init = seed_init(&device, seed);
            // Several draws, as a network's layers make: another thread drawing between them
            // would change the later ones.
            (0..8).flat_map(|_| floats(Tensor::<1>::random([64], Distribution::Default, &device))).collect::<Vec<f32>>()
        };
        let alone = draw(7);
        let together: Vec<Vec<f32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| draw(7))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(together.iter().all(|w| *w == alone));
        // A trainer built inside another (GAIL's generator) takes the guard again without waiting.
        let outer = seed_init(&Device::flex(), 1);
        drop(seed_init(&Device::flex(), 2));
        drop(outer);
    }
}
