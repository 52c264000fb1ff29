//! The real window under Xvfb with Mesa's software Vulkan (lavapipe): for every built-in
//! scenario, `apprentice app --autopilot expert --frames N --screenshot out.png --exit`
//! writes a PNG that shows the scene: not uniform, and in the scenario's own colors.

use apprentice::sim::ScenarioEnv;
use apprentice::sim::builtin::BUILTINS;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command};

/// A private X server for the test's windows, stopped when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts a server on a display number it picks itself (`-displayfd`: free, and written
    /// only once the server accepts connections).
    pub fn start() -> Xvfb {
        use std::io::BufRead;
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb runs (Debian package `xvfb`; `make test` installs it)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("Xvfb says its display");
        let number: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb did not start (it said {line:?})"));
        Xvfb { child, display: format!(":{number}") }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RGB pixels of a PNG.
pub fn pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()].chunks(channels).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, px)
}

fn srgb8(c: f32) -> u8 {
    (c.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[test]
fn every_builtin_scenario_renders_in_a_real_window_in_its_own_colors() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    // A returning user: no first-run card over the scene.
    std::fs::write(dir.path().join("welcome-seen"), "").unwrap();
    for (name, _) in BUILTINS {
        let png = dir.path().join(format!("{name}.png"));
        let out = Command::new(env!("CARGO_BIN_EXE_apprentice"))
            .args(["app", "--scenario", name, "--autopilot", "expert", "--frames", "45", "--exit", "--size", "640x400"])
            .arg("--screenshot")
            .arg(&png)
            .env("DISPLAY", &x.display)
            .env("APPRENTICE_DATA", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let (w, h, px) = pixels(&png);
        assert_eq!((w, h), (640, 400), "{name}");
        let distinct: HashSet<[u8; 3]> = px.iter().copied().collect();
        assert!(distinct.len() > 20, "{name}: the screenshot is nearly uniform ({} colors)", distinct.len());

        // The opaque colors of the scenario's shapes, as drawn.
        let env = ScenarioEnv::load(name).unwrap();
        let colors: HashSet<[u8; 3]> = env
            .frame()
            .shapes
            .iter()
            .filter(|s| s.color[3] == 1.0 && !matches!(s.shape, apprentice::sim::scenario::Shape::Polyline(_)))
            .map(|s| [srgb8(s.color[0]), srgb8(s.color[1]), srgb8(s.color[2])])
            .collect();
        let seen = colors
            .iter()
            .filter(|c| px.iter().any(|p| p.iter().zip(c.iter()).all(|(a, b)| a.abs_diff(*b) <= 6)))
            .count();
        assert!(
            seen * 2 >= colors.len() && seen > 0,
            "{name}: only {seen} of the scenario's {} shape colors appear in the screenshot",
            colors.len()
        );
    }
}
