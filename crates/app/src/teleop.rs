//! Teleoperation: the keyboard and gamepads (Bevy input, gilrs) turned into the scenario's
//! actions through its bindings; rebinding saved per scenario; an unplugged pad pauses.

use super::session::{Driver, Session};
use bevy::input::gamepad::{GamepadConnection, GamepadConnectionEvent};
use bevy::prelude::*;
use sim::scenario::{AxisBinding, Bindings, ChoiceBinding, Key, PadAxis, PadButton};
use sim::{Action, Env, Space};
use std::path::PathBuf;

/// Stick deflection below which a stick counts as untouched.
const DEADZONE: f32 = 0.15;

/// What the human asks for this step.
#[derive(Resource, Debug, Clone, Default)]
pub struct HumanInput {
    /// The bound action (the idle one when nothing is pressed); `None` if the scenario has no
    /// bindings for its action space.
    pub action: Option<Action>,
    /// A bound key, button or stick is in use: the human takes over from a machine driver.
    pub active: bool,
    /// "keyboard" or the gamepad's name: recorded with the episode.
    pub device: String,
}

/// The bindings in force (the scenario's defaults, or the user's saved ones) and where they
/// are saved.
#[derive(Resource, Debug, Clone)]
pub struct ActiveBindings {
    pub bindings: Option<Bindings>,
    /// `DATA/<scenario>/bindings.ron`.
    pub path: PathBuf,
    /// A binding slot waiting for the next key press: (action dimension or choice, positive side).
    pub listening: Option<(usize, bool)>,
}

impl ActiveBindings {
    /// The saved bindings at `path` if they parse and fit `space`, else `defaults`; a broken
    /// file is reported and left alone.
    pub fn load(defaults: Option<Bindings>, path: PathBuf, space: &Space) -> (ActiveBindings, Option<String>) {
        let (bindings, problem) = match std::fs::read_to_string(&path) {
            Ok(text) => match ron::from_str::<Bindings>(&text).map_err(|e| e.to_string()).and_then(|saved| {
                saved.check(space)?;
                Ok(saved)
            }) {
                Ok(saved) => (Some(saved), None),
                Err(e) => (defaults, Some(format!("{}: {e}; using the scenario's bindings", path.display()))),
            },
            Err(_) => (defaults, None),
        };
        (ActiveBindings { bindings, path, listening: None }, problem)
    }

    pub fn save(&self) -> Result<(), String> {
        let text =
            ron::ser::to_string_pretty(&self.bindings, ron::ser::PrettyConfig::default()).map_err(|e| e.to_string())?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        data::dataset::write_atomic(&self.path, text.as_bytes()).map_err(|e| e.to_string())
    }

    /// Binds `key` to the slot being listened for.
    pub fn bind(&mut self, key: Key) {
        let Some((slot, positive)) = self.listening.take() else { return };
        match &mut self.bindings {
            Some(Bindings::Axes(axes)) => {
                if let Some(axis) = axes.get_mut(slot) {
                    let keys = if positive { &mut axis.positive } else { &mut axis.negative };
                    *keys = vec![key];
                }
            }
            Some(Bindings::Choices { choices, .. }) => {
                if let Some(choice) = choices.get_mut(slot) {
                    choice.keys = vec![key];
                }
            }
            None => {}
        }
    }
}

/// The scenario's neutral action: range midpoints (zero torque, engines off), choice 0.
pub fn neutral(space: &Space) -> Action {
    match space {
        Space::Box { low, high } => Action::Continuous(
            low.iter()
                .zip(high)
                .map(|(l, h)| if l.is_finite() && h.is_finite() { (l + h) / 2.0 } else { 0.0 })
                .collect(),
        ),
        Space::Discrete { .. } => Action::Discrete(0),
        Space::MultiDiscrete { nvec } => Action::MultiDiscrete(vec![0; nvec.len()]),
    }
}

/// What is pressed or deflected this instant, independent of Bevy's input types.
pub trait Controls {
    fn key(&self, key: Key) -> bool;
    fn button(&self, button: PadButton) -> bool;
    /// Sticks in -1..1, triggers in 0..1.
    fn axis(&self, axis: PadAxis) -> f32;
}

/// The action the controls ask for under `bindings`, and whether any bound control is in use.
pub fn bound_action(bindings: &Bindings, space: &Space, controls: &impl Controls) -> Option<(Action, bool)> {
    match (bindings, space) {
        (Bindings::Axes(axes), Space::Box { low, high }) if axes.len() == low.len() => {
            let mut active = false;
            let values = axes
                .iter()
                .zip(low.iter().zip(high))
                .map(|(binding, (l, h))| {
                    let (v, used) = axis_value(binding, controls);
                    active |= used;
                    (l + h) / 2.0 + v * (h - l) / 2.0
                })
                .collect();
            Some((Action::Continuous(values), active))
        }
        (Bindings::Choices { idle, choices }, Space::Discrete { n }) => {
            let pressed = choices.iter().position(|c| chosen(c, controls)).filter(|&i| i < *n);
            Some((Action::Discrete(pressed.unwrap_or(*idle)), pressed.is_some()))
        }
        _ => None,
    }
}

/// One continuous dimension in -1..1: keys give ±1, a deflected stick or trigger its value.
fn axis_value(binding: &AxisBinding, controls: &impl Controls) -> (f32, bool) {
    let keys = |ks: &[Key]| ks.iter().any(|&k| controls.key(k));
    let from_keys = keys(&binding.positive) as i32 as f32 - keys(&binding.negative) as i32 as f32;
    if from_keys != 0.0 {
        return (from_keys, true);
    }
    let stick = binding.axis.map_or(0.0, |a| controls.axis(a));
    let stick = if binding.invert { -stick } else { stick };
    if stick.abs() > DEADZONE { (stick.clamp(-1.0, 1.0), true) } else { (0.0, false) }
}

fn chosen(choice: &ChoiceBinding, controls: &impl Controls) -> bool {
    choice.keys.iter().any(|&k| controls.key(k)) || choice.buttons.iter().any(|&b| controls.button(b))
}

macro_rules! same_names {
    ($value:expr, $from:ident => $to:ident: $($name:ident),* $(,)?) => {
        match $value { $($from::$name => $to::$name,)* }
    };
}

/// Bevy's key code of a scenario key (the names are the same).
pub fn key_code(key: Key) -> KeyCode {
    #[rustfmt::skip]
    let code = same_names!(key, Key => KeyCode:
        ArrowLeft, ArrowRight, ArrowUp, ArrowDown, Space, Enter, ShiftLeft, ShiftRight,
        KeyA, KeyB, KeyC, KeyD, KeyE, KeyF, KeyG, KeyH, KeyI, KeyJ, KeyK, KeyL, KeyM,
        KeyN, KeyO, KeyP, KeyQ, KeyR, KeyS, KeyT, KeyU, KeyV, KeyW, KeyX, KeyY, KeyZ,
        Digit0, Digit1, Digit2, Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9);
    code
}

/// The scenario key for a Bevy key code, when there is one.
pub fn key_of(code: KeyCode) -> Option<Key> {
    sim::scenario::ALL_KEYS.iter().copied().find(|&k| key_code(k) == code)
}

fn pad_button(button: PadButton) -> GamepadButton {
    #[rustfmt::skip]
    let b = same_names!(button, PadButton => GamepadButton:
        South, East, North, West, LeftTrigger, RightTrigger, LeftTrigger2, RightTrigger2,
        DPadUp, DPadDown, DPadLeft, DPadRight);
    b
}

fn pad_axis(axis: PadAxis) -> GamepadAxis {
    same_names!(axis, PadAxis => GamepadAxis: LeftStickX, LeftStickY, RightStickX, RightStickY, LeftZ, RightZ)
}

/// The keyboard and every connected gamepad, read together.
struct BevyControls<'a> {
    keys: &'a ButtonInput<KeyCode>,
    pads: Vec<&'a Gamepad>,
}

impl Controls for BevyControls<'_> {
    fn key(&self, key: Key) -> bool {
        self.keys.pressed(key_code(key))
    }
    fn button(&self, button: PadButton) -> bool {
        self.pads.iter().any(|p| p.pressed(pad_button(button)))
    }
    fn axis(&self, axis: PadAxis) -> f32 {
        // The most deflected pad wins; triggers are also buttons with an analog value.
        let value = |p: &&Gamepad| {
            let a = pad_axis(axis);
            let analog = p.get(a).unwrap_or(0.0);
            let trigger = match axis {
                PadAxis::LeftZ => p.get(GamepadButton::LeftTrigger2).unwrap_or(0.0),
                PadAxis::RightZ => p.get(GamepadButton::RightTrigger2).unwrap_or(0.0),
                _ => 0.0,
            };
            if trigger.abs() > analog.abs() { trigger } else { analog }
        };
        self.pads.iter().map(value).fold(0.0, |best, v| if v.abs() > best.abs() { v } else { best })
    }
}

/// Reads the controls into `HumanInput` (in the fixed step, just before the session steps).
pub fn read_controls(
    keys: Res<ButtonInput<KeyCode>>,
    pads: Query<(&Gamepad, Option<&Name>)>,
    bindings: Res<ActiveBindings>,
    session: Res<Session>,
    mut input: ResMut<HumanInput>,
) {
    let controls = BevyControls { keys: &keys, pads: pads.iter().map(|(p, _)| p).collect() };
    let space = session.env.action_space();
    let bound = bindings.bindings.as_ref().and_then(|b| bound_action(b, space, &controls));
    let pad_used = pads.iter().any(|(p, _)| {
        p.get_pressed().next().is_some() || p.get_analog_axes().any(|a| p.get(*a).is_some_and(|v| v.abs() > DEADZONE))
    });
    if pad_used {
        input.device = pads.iter().find_map(|(_, n)| n.map(|n| n.to_string())).unwrap_or_else(|| "gamepad".into());
    } else if keys.get_pressed().next().is_some() || input.device.is_empty() {
        input.device = "keyboard".into();
    }
    (input.action, input.active) = match bound {
        Some((action, active)) => (Some(action), active),
        None => (None, false),
    };
}

/// A pad unplugged while a human drives pauses the episode; nothing recorded is lost.
fn watch_gamepads(mut connections: MessageReader<GamepadConnectionEvent>, mut session: ResMut<Session>) {
    for event in connections.read() {
        if matches!(event.connection, GamepadConnection::Disconnected) && session.effective_driver() == Driver::Human {
            session.paused = Some("gamepad disconnected: plug it back in and press Resume".into());
        }
    }
}

/// While a binding slot listens, the next bound-able key press fills it and the bindings are saved.
fn capture_binding(
    keys: Res<ButtonInput<KeyCode>>,
    mut bindings: ResMut<ActiveBindings>,
    mut errors: ResMut<super::Errors>,
) {
    if bindings.listening.is_none() {
        return;
    }
    if let Some(key) = keys.get_just_pressed().find_map(|&k| key_of(k)) {
        bindings.bind(key);
        if let Err(e) = bindings.save() {
            errors.push(format!("could not save the bindings: {e}"));
        }
    }
}

pub fn plugin(app: &mut App) {
    app.init_resource::<HumanInput>()
        .add_systems(FixedUpdate, read_controls.in_set(super::SimSet::Input))
        .add_systems(Update, (watch_gamepads, capture_binding));
}
