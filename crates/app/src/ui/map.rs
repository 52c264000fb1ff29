//! Where the main controls are on screen, written to the file `APPRENTICE_UI_MAP` names (when
//! set) for tools that drive the real window with real input events, such as the xdotool
//! walkthrough test: they find a button here and click it as a person's mouse would.

use bevy_egui::egui;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The control name → its rectangle in logical window pixels `[left, top, right, bottom]`.
#[derive(Default)]
pub struct UiMap {
    path: Option<Option<PathBuf>>,
    seen: BTreeMap<String, [f32; 4]>,
    written: BTreeMap<String, [f32; 4]>,
}

impl UiMap {
    /// Notes where control `name` was drawn this frame.
    pub fn mark(&mut self, name: &str, response: &egui::Response) {
        let r = response.rect;
        self.seen.insert(name.to_string(), [r.left(), r.top(), r.right(), r.bottom()]);
    }

    /// At the end of a frame: writes the controls drawn in it when they changed (atomically,
    /// so a reader never sees half a file).
    pub fn flush(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        let path = self.path.get_or_insert_with(|| std::env::var_os("APPRENTICE_UI_MAP").map(PathBuf::from));
        let Some(path) = path.as_ref() else { return };
        if seen == self.written {
            return;
        }
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(&seen).expect("a map of rectangles serializes");
        if std::fs::write(&tmp, json).and_then(|()| std::fs::rename(&tmp, path)).is_ok() {
            self.written = seen;
        }
    }
}
