//! Unattended runs of the real window, for tests, screenshots and the frame-time benchmark:
//! after N frames, save a screenshot and/or report frame times, then exit.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use std::path::PathBuf;
use std::time::Instant;

/// Frames a screenshot may take to reach the disk before the app gives up waiting.
const SAVE_PATIENCE: u32 = 600;

#[derive(Resource, Debug, Clone)]
pub struct Autopilot {
    /// Frames to render before the screenshot / exit.
    pub frames: u32,
    pub screenshot: Option<PathBuf>,
    /// Quit once done.
    pub exit: bool,
    /// Print frame-time statistics at the end (`bench app`): `Some(true)` as JSON.
    pub report: Option<bool>,
}

/// Wall-clock duration of every frame so far, in milliseconds.
#[derive(Resource, Default)]
struct FrameTimes {
    last: Option<Instant>,
    ms: Vec<f64>,
    count: u32,
    waiting: u32,
}

/// Frame-time statistics (`apprentice bench app`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrameReport {
    pub frames: usize,
    pub fps_mean: f64,
    pub frame_ms_mean: f64,
    pub frame_ms_p95: f64,
}

/// Statistics of frame durations; the first frames (start-up, shader compilation) are skipped.
pub fn frame_report(ms: &[f64]) -> FrameReport {
    let skip = (ms.len() / 10).min(30);
    let mut steady: Vec<f64> = ms[skip..].to_vec();
    steady.sort_by(f64::total_cmp);
    let mean = steady.iter().sum::<f64>() / steady.len().max(1) as f64;
    let p95 = steady.get(((steady.len() as f64 * 0.95) as usize).min(steady.len().saturating_sub(1))).copied();
    FrameReport {
        frames: steady.len(),
        fps_mean: if mean > 0.0 { 1000.0 / mean } else { 0.0 },
        frame_ms_mean: mean,
        frame_ms_p95: p95.unwrap_or(0.0),
    }
}

fn tick(
    mut commands: Commands,
    pilot: Res<Autopilot>,
    mut times: ResMut<FrameTimes>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    if let Some(last) = times.last {
        times.ms.push((now - last).as_secs_f64() * 1000.0);
    }
    times.last = Some(now);
    times.count += 1;
    if times.count == pilot.frames
        && let Some(path) = &pilot.screenshot
    {
        let _ = std::fs::remove_file(path);
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path.clone()));
    }
    if times.count < pilot.frames {
        return;
    }
    let saved = pilot.screenshot.as_ref().is_none_or(|p| p.exists());
    if !saved && times.waiting < SAVE_PATIENCE {
        times.waiting += 1;
        return;
    }
    if times.count == pilot.frames + times.waiting {
        match pilot.report {
            Some(true) => println!("{}", serde_json::to_string(&frame_report(&times.ms)).unwrap_or_default()),
            Some(false) => {
                let r = frame_report(&times.ms);
                println!(
                    "{} frames: {:.1} fps, {:.1} ms mean, {:.1} ms p95",
                    r.frames, r.fps_mean, r.frame_ms_mean, r.frame_ms_p95
                );
            }
            None => {}
        }
        if let Some(path) = pilot.screenshot.as_ref().filter(|_| !saved) {
            eprintln!("error: the screenshot {} was not written", path.display());
        }
        if pilot.exit {
            exit.write(if saved { AppExit::Success } else { AppExit::error() });
        }
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<FrameTimes>().add_systems(Last, tick.run_if(resource_exists::<Autopilot>));
}
