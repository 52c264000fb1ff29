//! Sweeps and plots from the command line: a grid × seeds in parallel processes, its CSV and
//! chart, a trial rerun alone giving the same result, and learning curves merged over seeds.

use std::path::Path;
use std::process::{Command, Output};

fn apprentice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apprentice")).args(args).output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A PNG's width and height, read by the png decoder.
fn png_size(path: &Path) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).read_info().unwrap();
    (reader.info().width, reader.info().height)
}

const GRID: &str = r#"
algorithm = "bc"
scenario = "cartpole"
demos = "demos"
seeds = [0, 1]
parallel = 2
eval_episodes = 5
[set]
epochs = 4
[grid]
lr = [0.001, 0.01]
"#;

#[test]
fn a_sweep_file_lists_its_trials_and_names_its_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wide.toml");
    std::fs::write(&file, format!("{GRID}policy.hidden = [[8], [16, 16]]\n")).unwrap();
    let trials = json_lines(&apprentice(&["sweep", "--config", file.to_str().unwrap(), "--list", "--json"]));
    assert_eq!(trials.len(), 8, "2 lr × 2 architectures × 2 seeds");
    assert_eq!(trials[3]["settings"]["lr"], "0.001");
    assert_eq!(trials[3]["settings"]["policy.hidden"], "[16, 16]");
    assert_eq!(trials[3]["seed"], 1);

    std::fs::write(&file, "algorithm = 'bc'\nscenario = 'cartpole'\n[grid]\nlr = 0.1\n").unwrap();
    let out = apprentice(&["sweep", "--config", file.to_str().unwrap(), "--list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("wide.toml") && stderr.contains("grid.lr"), "{stderr}");

    std::fs::write(&file, "algorithm = 'bc'\nscenario = 'cartpole'\n[grid]\nlearning_rate = [0.1]\n").unwrap();
    let out = apprentice(&["sweep", "--config", file.to_str().unwrap(), "--list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("learning_rate") && stderr.contains("batch_size"), "{stderr}");

    let random = "algorithm = 'bc'\nscenario = 'cartpole'\n[random]\nsamples = 6\n[random.keys]\nlr = { log_uniform = [1e-4, 1e-2] }\nbatch_size = { choice = [32, 64] }\n";
    std::fs::write(&file, random).unwrap();
    let first = json_lines(&apprentice(&["sweep", "--config", file.to_str().unwrap(), "--list", "--json"]));
    let again = json_lines(&apprentice(&["sweep", "--config", file.to_str().unwrap(), "--list", "--json"]));
    assert_eq!(first, again, "random draws repeat with the sweep's seed");
    for t in &first {
        let lr: f64 = t["settings"]["lr"].as_str().unwrap().parse().unwrap();
        assert!((1e-4..1e-2).contains(&lr), "{lr}");
    }
}

#[test]
fn a_grid_sweep_writes_its_results_and_chart_and_a_trial_repeats_alone() {
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("demos");
    let out = apprentice(&[
        "demos",
        "generate",
        "--scenario",
        "cartpole",
        "--episodes",
        "5",
        "--out",
        demos.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.path().join("lr.toml");
    std::fs::write(&file, GRID).unwrap();
    let rows = json_lines(&apprentice(&["sweep", "--config", file.to_str().unwrap(), "--json"]));
    assert_eq!(rows.len(), 4);

    let csv = std::fs::read_to_string(dir.path().join("lr/results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("trial,seed,lr,return_mean,"), "{}", lines[0]);
    assert_eq!(lines.len(), 5, "{csv}");
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        let ret: f64 = cells[3].parse().unwrap();
        assert!((0.0..=500.0).contains(&ret), "{line}");
    }
    assert_eq!(png_size(&dir.path().join("lr/sweep.png")), (640, 520));

    // The same trial in another sweep folder, alone: the same evaluation, to the last digit.
    let again = dir.path().join("again.toml");
    std::fs::write(&again, format!("out = \"elsewhere\"\n{GRID}")).unwrap();
    let alone = &json_lines(&apprentice(&["sweep", "--config", again.to_str().unwrap(), "--trial", "3", "--json"]))[0];
    let swept = rows.iter().find(|r| r["index"] == 3).unwrap();
    assert_eq!(alone["return_mean"], swept["return_mean"]);
    assert_eq!(alone["settings"], swept["settings"]);

    // Started again, the sweep keeps its finished trials.
    let kept = json_lines(&apprentice(&["sweep", "--config", file.to_str().unwrap(), "--json"]));
    assert_eq!(
        kept.iter().map(|r| &r["return_mean"]).collect::<Vec<_>>(),
        rows.iter().map(|r| &r["return_mean"]).collect::<Vec<_>>()
    );

    // Learning curves: the two seeds of each learning rate merge into one curve.
    let trial = |k: usize| dir.path().join(format!("lr/trials/{k:03}")).to_string_lossy().into_owned();
    let png = dir.path().join("curves.png");
    let (a, b, c, d) = (trial(0), trial(1), trial(2), trial(3));
    let drawn = &json_lines(&apprentice(&["plot", &a, &b, &c, &d, "--out", png.to_str().unwrap(), "--json"]))[0];
    assert_eq!(drawn["metric"], "train/loss");
    let curves = drawn["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 2, "{drawn}");
    assert_eq!((curves[0]["label"].as_str(), curves[0]["runs"].as_u64()), (Some("lr=0.001"), Some(2)));
    assert_eq!(curves[1]["label"], "lr=0.01");
    assert_eq!(png_size(&png), (960, 600));

    let separate =
        &json_lines(&apprentice(&["plot", &a, &b, "--separate", "--out", png.to_str().unwrap(), "--json"]))[0];
    assert_eq!(separate["curves"].as_array().unwrap().len(), 2);
    let out = apprentice(&["plot", &a, "--metric", "no/such", "--out", png.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no/such") && stderr.contains("train/loss"), "{stderr}");
}
