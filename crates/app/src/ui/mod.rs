//! The egui panels: a top bar (who drives, pause, speed, record), a side panel with tabs
//! (training, episodes, bindings, policy view), the HUD and the problem dialog. The scene
//! gets whatever space the panels leave.

mod actions;
mod bindings;
mod controls;
mod episodes;
mod form;
mod map;
mod policy_view;
mod runs;
mod scenarios;
mod scene_text;
mod train;
mod welcome;

use super::Errors;
use super::curate::Curate;
use super::ghost::Ghosts;
use super::record::Recording;
use super::render::SceneRect;
use super::replay::Replay;
use super::scenarios::Scenarios;
use super::session::Session;
use super::split::Split;
use super::teleop::ActiveBindings;
use super::training::Training;
use bevy::camera::CameraOutputMode;
use bevy::camera::visibility::RenderLayers;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy_egui::{EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui};

/// The side panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Train,
    Episodes,
    Bindings,
    Policy,
    Runs,
}

/// Everything the panels read and change.
#[derive(SystemParam)]
pub struct Ui<'w, 's> {
    pub session: ResMut<'w, Session>,
    pub recording: ResMut<'w, Recording>,
    pub training: ResMut<'w, Training>,
    pub replay: ResMut<'w, Replay>,
    pub bindings: ResMut<'w, ActiveBindings>,
    pub errors: ResMut<'w, Errors>,
    pub split: ResMut<'w, Split>,
    pub curate: ResMut<'w, Curate>,
    pub ghosts: ResMut<'w, Ghosts>,
    pub learned: ResMut<'w, crate::reward_view::LearnedReward>,
    pub scenarios: ResMut<'w, Scenarios>,
    pub filter: Local<'s, data::Filter>,
    pub runs: Local<'s, runs::RunsState>,
    pub scenario_path: Local<'s, String>,
    pub form: Local<'s, form::FormState>,
    pub tab: Local<'s, Tab>,
    pub map: Local<'s, map::UiMap>,
    pub welcome: Local<'s, welcome::Welcome>,
}

fn layout(mut contexts: EguiContexts, mut ui: Ui<'_, '_>, mut scene: ResMut<SceneRect>) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let problems = std::mem::take(&mut ui.recording.problems);
    problems.into_iter().for_each(|p| ui.errors.push(p));
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );
    egui::Panel::top("top").show(&mut root, |top| controls::top_bar(top, &mut ui));
    egui::Panel::bottom("status").show(&mut root, |bottom| controls::status_line(bottom, &ui));
    egui::Panel::right("side").resizable(true).default_size(400.0).show(&mut root, |side| {
        side.horizontal(|row| {
            for (tab, name) in [
                (Tab::Train, "Train"),
                (Tab::Episodes, "Episodes"),
                (Tab::Bindings, "Bindings"),
                (Tab::Policy, "Policy view"),
                (Tab::Runs, "Runs"),
            ] {
                let response = row.selectable_value(&mut *ui.tab, tab, name);
                ui.map.mark(&format!("tab {name}"), &response);
            }
        });
        side.separator();
        egui::ScrollArea::vertical().show(side, |side| match *ui.tab {
            Tab::Train => train::panel(side, &mut ui),
            Tab::Episodes => episodes::panel(side, &mut ui),
            Tab::Bindings => bindings::panel(side, &mut ui),
            Tab::Policy => policy_view::panel(side, &mut ui),
            Tab::Runs => runs::panel(side, &mut ui),
        });
    });
    let free = root.available_rect_before_wrap();
    (scene.min, scene.max) = (Vec2::new(free.min.x, free.min.y), Vec2::new(free.max.x, free.max.y));
    scene_text::draw(&ctx, free, &ui);
    controls::hud(&ctx, free, &ui);
    welcome::card(&ctx, free, &mut ui);
    controls::problems(&ctx, &mut ui.errors);
    actions::shortcuts(&ctx, &mut ui);
    ui.map.flush();
    Ok(())
}

/// egui draws through its own camera over the whole window: the scene camera's viewport
/// shrinks to the space the panels leave, and egui must not shrink with it.
fn spawn_ui_camera(mut commands: Commands) {
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        // Cameras drawing into one window share its sample count (see `render`).
        Msaa::Off,
        Camera {
            // After both scene cameras (the split view's second one is order 1).
            order: 2,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

pub fn plugin(app: &mut App) {
    app.insert_resource(EguiGlobalSettings { auto_create_primary_context: false, ..default() })
        .add_systems(Startup, spawn_ui_camera)
        .add_systems(EguiPrimaryContextPass, layout);
}
