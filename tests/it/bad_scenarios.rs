//! Each kind of bad scenario file gives an error naming the file, the line and column,
//! and what was expected.

use apprentice::sim::{Scenario, ScenarioError};
use std::path::Path;

const CARTPOLE: &str = include_str!("../../scenarios/cartpole.ron");

/// Applies `from → to` to the cartpole file, loads it, and checks the error: it names the
/// file, points at the line holding `at` (in the edited text), and says `says`.
fn rejects(from: &str, to: &str, at: &str, says: &str) {
    assert!(CARTPOLE.contains(from), "test setup: `{from}` not in cartpole.ron");
    let text = CARTPOLE.replacen(from, to, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ron");
    std::fs::write(&path, &text).unwrap();
    let error = Scenario::load(&path).expect_err(&format!("`{to}` must be rejected"));
    let message = error.to_string();
    let ScenarioError::Invalid { path: reported, line, column, .. } = &error else { panic!("{message}") };
    assert_eq!(reported, &path, "{message}");
    let at = text.find(at).unwrap() + at.starts_with('\n') as usize;
    let expected_line = text[..at].matches('\n').count() + 1;
    assert_eq!(*line, expected_line, "{message}");
    assert!(*column >= 1);
    assert!(message.contains(says), "`{message}` should say `{says}`");
    assert!(message.starts_with(&format!("{}:{line}:{column}: ", path.display())), "{message}");
}

#[test]
fn missing_field() {
    // The parser notices at the struct's closing parenthesis, the file's last line.
    rejects("    timestep: 0.02,\n", "", "\n)\n", "missing field named `timestep`");
}

#[test]
fn unknown_field() {
    rejects("color: (0.2, 0.45, 0.8),", "colour: (0.2, 0.45, 0.8),", "colour", "colour");
}

#[test]
fn wrong_type() {
    rejects("timestep: 0.02", "timestep: \"fast\"", "\"fast\"", "float");
}

#[test]
fn unknown_shape_variant() {
    rejects("Cuboid(0.25, 0.14)", "Triangle(0.25, 0.14)", "Triangle", "Triangle");
}

#[test]
fn syntax_error() {
    rejects("max_steps: 500,", "max_steps: 500,,", ",,", "");
}

#[test]
fn joint_naming_a_missing_body() {
    rejects("body2: \"cart\"", "body2: \"chassis\"", "\"chassis\"", "no body is named `chassis`");
}

#[test]
fn empty_action_range() {
    rejects("gain: 10.0)", "gain: 10.0, range: (1.0, 1.0))", "range: (1.0", "is empty");
}

#[test]
fn nan_number() {
    rejects("mass: 1.0", "mass: NaN", "NaN", "must be finite");
}

#[test]
fn infinite_number() {
    rejects("timestep: 0.02", "timestep: inf", "inf", "must be finite");
}

#[test]
fn duplicate_body_names() {
    rejects("name: \"pole\"", "name: \"cart\"", "name: \"cart\",\n            // The", "two bodies are named `cart`");
}

#[test]
fn action_naming_a_missing_actuator() {
    rejects("[(\"push\", 1.0)]", "[(\"shove\", 1.0)]", "\"shove\"", "no actuator is named `shove`");
}

#[test]
fn negative_timestep() {
    rejects("timestep: 0.02", "timestep: -0.02", "timestep", "timestep must be > 0");
}

#[test]
fn zero_solver_iterations() {
    rejects("solver_iterations: 1", "solver_iterations: 0", "solver_iterations", "solver_iterations must be between 1 and 64");
}

#[test]
fn observation_of_a_missing_joint() {
    rejects(
        "Value(AngularVelocity(\"pole\")),",
        "Value(JointRate(\"elbow\")),",
        "\"elbow\"",
        "no joint is named `elbow`",
    );
}

#[test]
fn goal_term_without_a_goal() {
    rejects(
        "reward: [(Alive, 1.0)]",
        "reward: [(Alive, 1.0), (Progress(Body(\"pole\")), 1.0)]",
        "Progress",
        "no `goal`",
    );
}

#[test]
fn shaping_that_names_a_missing_body_or_needs_a_goal() {
    rejects(
        "reward: [(Alive, 1.0)]",
        "reward: [(Decrease(X(Body(\"cat\"))), 1.0)]",
        "\"cat\"",
        "no body is named `cat`",
    );
    rejects(
        "reward: [(Alive, 1.0)]",
        "reward: [(Decrease(PushPoseDistance(pusher: Body(\"cart\"), block: Body(\"pole\"), standoff: 0.7)), 1.0)]",
        "PushPoseDistance",
        "no `goal`",
    );
}

#[test]
fn bindings_that_do_not_match_the_actions() {
    rejects(
        "ChoiceBinding(keys: [ArrowLeft, KeyA], buttons: [DPadLeft, West]),",
        "",
        "bindings",
        "one binding per choice",
    );
}

#[test]
fn unknown_key_name() {
    rejects("keys: [ArrowLeft, KeyA]", "keys: [ArrowLeft, KeyÄ]", "KeyÄ", "");
}

#[test]
fn expert_gains_that_do_not_fit_the_observation() {
    rejects("gains: [1.0, 1.5, -20.0, -3.0]", "gains: [1.0, 1.5]", "expert", "2 gains");
}

#[test]
fn unknown_scenario_names_are_reported_with_the_way_out() {
    let error = apprentice::sim::ScenarioEnv::load("cartpoel").err().unwrap().to_string();
    assert!(error.contains("cartpoel") && error.contains("apprentice scenarios"), "{error}");
    let missing = Scenario::load(Path::new("/nonexistent/x.ron")).unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/x.ron"), "{missing}");
}
