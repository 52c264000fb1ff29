//! The walkthrough through real window-system input: under Xvfb, `xdotool` moves the pointer,
//! clicks the first-run card away, clicks Record, holds the arrow keys, clicks Stop and clicks
//! Train, as a person's mouse and keyboard would. The app says where its controls are
//! (`APPRENTICE_UI_MAP`); the test then checks the episodes on disk and the run directory.

use super::screenshots::Xvfb;
use apprentice::data::Dataset;
use apprentice::learn::run;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The app's process, killed when the test ends however it ends.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Person<'a> {
    display: &'a str,
    window: String,
    map: PathBuf,
}

impl Person<'_> {
    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", self.display)
            .output()
            .expect("xdotool runs (Debian package `xdotool`; `make test` installs it)");
        assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Where control `name` is, waiting for the app to draw it.
    fn find(&self, name: &str) -> [f32; 4] {
        let start = Instant::now();
        loop {
            let map: BTreeMap<String, [f32; 4]> =
                std::fs::read(&self.map).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
            if let Some(rect) = map.get(name) {
                return *rect;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the app never drew `{name}`: {map:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Moves to the middle of control `name`, lets the app see the pointer there, and clicks.
    fn click(&self, name: &str) {
        let [l, t, r, b] = self.find(name);
        let (x, y) = (((l + r) / 2.0).round().to_string(), ((t + b) / 2.0).round().to_string());
        self.xdotool(&["mousemove", "--window", &self.window, &x, &y]);
        std::thread::sleep(Duration::from_millis(200));
        self.xdotool(&["mousedown", "1"]);
        std::thread::sleep(Duration::from_millis(150));
        self.xdotool(&["mouseup", "1"]);
        std::thread::sleep(Duration::from_millis(300));
    }

    fn hold(&self, key: &str, time: Duration) {
        self.xdotool(&["keydown", key]);
        std::thread::sleep(time);
        self.xdotool(&["keyup", key]);
    }
}

/// Waits for `path` to exist.
fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_person_records_and_trains_with_real_mouse_and_keyboard_events() {
    let x = Xvfb::start();
    let data = tempfile::tempdir().unwrap();
    let map = data.path().join("ui.json");
    let _app = App(Command::new(env!("CARGO_BIN_EXE_apprentice"))
        .args(["app", "--scenario", "cartpole", "--size", "1280x760"])
        .env("DISPLAY", &x.display)
        .env("APPRENTICE_DATA", data.path())
        .env("APPRENTICE_UI_MAP", &map)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let mut person = Person { display: &x.display, window: String::new(), map };
    let found = person.xdotool(&["search", "--sync", "--name", "apprentice"]);
    person.window = found.lines().next().expect("the app's window").to_string();
    person.xdotool(&["windowfocus", "--sync", &person.window]);

    let demos = data.path().join("cartpole/demos");
    let bundled = Dataset::existing(&demos).unwrap().0.ids().unwrap().len();
    person.click("welcome ok");
    // A window still starting under load can miss its first click: click until the card
    // has recorded that it was seen (a person clicks again too).
    let seen = data.path().join("welcome-seen");
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500));
        if seen.exists() {
            break;
        }
        person.click("welcome ok");
    }
    person.click("record");
    for _ in 0..2 {
        person.hold("Right", Duration::from_millis(1200));
        person.hold("Left", Duration::from_millis(1200));
    }
    person.click("stop");

    let (dataset, _) = Dataset::existing(&demos).unwrap();
    let loaded = dataset.load(None).unwrap();
    let typed: Vec<_> = loaded.episodes.iter().filter(|f| f.episode.meta.device == "keyboard").collect();
    assert!(
        loaded.episodes.len() > bundled && typed.len() >= 2,
        "the held keys recorded episodes: {} on disk",
        loaded.episodes.len()
    );
    assert!(
        typed.iter().all(|f| f.episode.sources() == [apprentice::data::Source::Human]),
        "every recorded step is the keyboard's"
    );
    assert!(data.path().join("welcome-seen").exists(), "the card stays away next time");

    person.click("train");
    let run_dir = data.path().join("cartpole/runs/1");
    wait_for(&run_dir.join("artifacts.json"), Duration::from_secs(240));
    let config = run::load_config(&run_dir).unwrap();
    assert_eq!(config.algorithm, "bc");
    let used = config.episodes.expect("the run records its episodes");
    assert_eq!(used.len(), loaded.episodes.len(), "it trained on every included episode");
    assert!(typed.iter().all(|f| used.contains(&f.id)), "the recorded episodes among them");
    assert!(run_dir.join("policy.json").exists() && run_dir.join("metrics.csv").exists());
}
