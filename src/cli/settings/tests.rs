use std::time::Duration;

use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Argv {
    #[command(flatten)]
    run: RunArgs,
}

fn args(argv: &[&str]) -> RunArgs {
    let argv = std::iter::once("traceval").chain(argv.iter().copied());
    Argv::try_parse_from(argv).unwrap().run
}

fn env(vars: &[(&'static str, &str)], stderr_tty: bool) -> Env {
    Env {
        vars: vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        no_color: false,
        stderr_tty,
        cpus: 2,
    }
}

const DRAWN: Drawn<'static> = Drawn {
    run_id: "RUN",
    replay_seed: None,
    random_seed: 99,
};

fn resolve(argv: &[&str], profile: &Profile, env: &Env) -> RunSettings {
    RunSettings::resolve(&args(argv), profile, env, Path::new("/p"), &DRAWN)
}

fn profile() -> Profile {
    Profile {
        trials: Some(4),
        jobs: Some(7),
        timeout: Some(Duration::from_secs(9)),
        fail_fast: Some(true),
        models: Some(vec!["p".to_owned()]),
        junit: Some("out/junit.xml".into()),
    }
}

#[test]
fn defaults_apply_without_flags_or_profile() {
    let s = resolve(&[], &Profile::default(), &env(&[], false));
    assert_eq!(
        s,
        RunSettings {
            seed: 99,
            jobs: 8,
            timeout: None,
            fail_fast: false,
            report: "/p/reports/RUN.json".into(),
            junit: None,
            traces_dir: None,
            report_output_limit: runner::DEFAULT_REPORT_OUTPUT_LIMIT,
            json: false,
            color: false,
            progress: false,
            github: None,
        }
    );
}

#[test]
fn github_outputs_follow_github_actions_and_the_summary_flag() {
    let p = Profile::default();
    let gha = |extra: &[(&'static str, &str)]| {
        let mut vars = vec![("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", "/s.md")];
        vars.extend_from_slice(extra);
        env(&vars, false)
    };
    let s = resolve(&[], &p, &gha(&[("GITHUB_WORKSPACE", "/w")]));
    assert_eq!(
        s.github,
        Some(Github {
            summary: Some("/s.md".into()),
            workspace: "/w".into(),
        })
    );
    // Without a workspace, paths are relative to the working directory.
    assert_eq!(
        resolve(&[], &p, &gha(&[])).github.unwrap().workspace,
        Path::new(".")
    );
    let off = resolve(&["--no-github-summary"], &p, &gha(&[]));
    assert_eq!(off.github.unwrap().summary, None);
    // Only `true`, as GitHub sets it, turns them on; `CI` alone does not.
    let local = env(&[("GITHUB_STEP_SUMMARY", "/s.md"), ("CI", "true")], false);
    assert_eq!(resolve(&[], &p, &local).github, None);
    let other = env(&[("GITHUB_ACTIONS", "false")], false);
    assert_eq!(resolve(&[], &p, &other).github, None);
    // A summary variable that is empty writes no summary.
    let empty = env(
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", "")],
        false,
    );
    assert_eq!(resolve(&[], &p, &empty).github.unwrap().summary, None);
}

#[test]
fn the_profile_wins_over_defaults() {
    let s = resolve(&[], &profile(), &env(&[], false));
    assert_eq!(s.jobs, 7);
    assert_eq!(s.timeout, Some(Duration::from_secs(9)));
    assert!(s.fail_fast);
    // A profile's path is relative to the project root.
    assert_eq!(s.junit, Some("/p/out/junit.xml".into()));
}

#[test]
fn flags_win_over_the_profile() {
    let argv = [
        "-j",
        "3",
        "--timeout",
        "2s",
        "--junit",
        "j.xml",
        "--report",
        "r.json",
        "--seed",
        "5",
        "--save-traces",
        "--report-output-limit",
        "1KiB",
    ];
    let s = resolve(&argv, &profile(), &env(&[], false));
    assert_eq!(s.jobs, 3);
    assert_eq!(s.timeout, Some(Duration::from_secs(2)));
    assert_eq!(s.junit, Some("j.xml".into()));
    assert_eq!(s.report, PathBuf::from("r.json"));
    assert_eq!(s.seed, 5);
    assert_eq!(s.traces_dir, Some("/p/reports/RUN/traces".into()));
    assert_eq!(s.report_output_limit, 1024);
    // `--fail-fast` can only switch it on; a profile's `fail-fast = false` is no default.
    let off = Profile {
        fail_fast: Some(false),
        ..Profile::default()
    };
    assert!(resolve(&["--fail-fast"], &off, &env(&[], false)).fail_fast);
}

#[test]
fn a_replay_keeps_its_seed_unless_the_flag_says_otherwise() {
    let drawn = Drawn {
        replay_seed: Some(42),
        ..DRAWN
    };
    let (p, e) = (Profile::default(), env(&[], false));
    let root = Path::new("/p");
    let s = RunSettings::resolve(&args(&[]), &p, &e, root, &drawn);
    assert_eq!(s.seed, 42);
    let s = RunSettings::resolve(&args(&["--seed", "1"]), &p, &e, root, &drawn);
    assert_eq!(s.seed, 1);
}

#[test]
fn colour_and_progress_follow_the_flag_the_terminal_and_the_environment() {
    let p = Profile::default();
    let tty = env(&[], true);
    let s = resolve(&[], &p, &tty);
    assert!(s.color && s.progress);
    let no_color = Env {
        no_color: true,
        ..tty.clone()
    };
    assert!(!resolve(&[], &p, &no_color).color);
    assert!(resolve(&["--color", "always"], &p, &no_color).color);
    assert!(!resolve(&["--color", "never"], &p, &tty).color);
    assert!(resolve(&["--color", "always"], &p, &env(&[], false)).color);
    // No progress bar in CI, with JSON lines, or off a terminal.
    assert!(!resolve(&[], &p, &env(&[("CI", "1")], true)).progress);
    assert!(resolve(&[], &p, &env(&[("CI", "false")], true)).progress);
    let json = resolve(&["--message-format", "json"], &p, &tty);
    assert!(json.json && !json.progress);
}

#[test]
fn the_profile_is_the_flag_else_ci_in_ci_else_none() {
    let mut config = ProjectConfig {
        path: Some("/p/traceval.toml".into()),
        ..ProjectConfig::default()
    };
    config.profiles.insert("ci".to_owned(), profile());
    config
        .profiles
        .insert("fast".to_owned(), Profile::default());
    let root = Path::new("/p");
    let ci = env(&[("CI", "true")], false);
    assert_eq!(profile_of(Some("fast"), &ci, &config), Profile::default());
    assert_eq!(profile_of(None, &ci, &config), profile());
    // Only `CI` says CI here (`TF_BUILD` is the snapshot rule's).
    for local in [
        env(&[], false),
        env(&[("CI", "0")], false),
        env(&[("TF_BUILD", "1")], false),
    ] {
        assert_eq!(profile_of(None, &local, &config), Profile::default());
    }
    let e = super::profile(Some("nope"), &ci, &config, root).unwrap_err();
    assert_eq!(e.to_string(), "no `[profile.nope]` in /p/traceval.toml");
    config.path = None;
    let e = super::profile(Some("nope"), &ci, &config, root).unwrap_err();
    assert!(matches!(e, CliError::ProfileWithoutConfig { .. }), "{e}");
}

fn profile_of(flag: Option<&str>, env: &Env, config: &ProjectConfig) -> Profile {
    super::profile(flag, env, config, Path::new("/p")).unwrap()
}

#[test]
fn trials_and_models_are_the_flag_else_the_profile() {
    let select = |argv: &[&str]| args(argv).select;
    let o = plan_options(&select(&[]), &profile(), None);
    assert_eq!((o.trials, o.models), (Some(4), vec!["p".to_owned()]));
    let o = plan_options(&select(&["-k", "2", "--model", "m"]), &profile(), None);
    assert_eq!((o.trials, o.models), (Some(2), vec!["m".to_owned()]));
    let o = plan_options(&select(&[]), &Profile::default(), None);
    assert_eq!((o.trials, o.models), (None, Vec::<String>::new()));
}

#[test]
fn snapshot_writes_follow_the_flag_unless_the_environment_forbids_them() {
    let root = Path::new("/p");
    let update = args(&["--snapshots", "update"]);
    let (s, notice) = snapshots(&update, &env(&[], false), true, root).unwrap();
    assert_eq!(
        (s.mode, s.writes, notice),
        (SnapshotMode::Update, Writes::Allowed, None)
    );
    let (s, notice) = snapshots(&update, &env(&[("CI", "1")], false), true, root).unwrap();
    assert_eq!(s.mode, SnapshotMode::Check);
    assert!(matches!(s.writes, Writes::Never(_)));
    assert!(
        notice
            .unwrap()
            .starts_with("--snapshots=update: no snapshot file")
    );
    // The environment's mode applies without a flag.
    let always = env(&[("INSTA_UPDATE", "always")], false);
    assert_eq!(
        snapshots(&args(&[]), &always, true, root).unwrap().0.mode,
        SnapshotMode::Update
    );
    // A bad INSTA_UPDATE matters only to a run that takes snapshots.
    let bad = env(&[("INSTA_UPDATE", "bogus")], false);
    assert!(matches!(
        snapshots(&args(&[]), &bad, true, root),
        Err(CliError::SnapshotMode(_))
    ));
    let (s, _) = snapshots(&args(&[]), &bad, false, root).unwrap();
    assert_eq!((s.mode, s.writes), (SnapshotMode::Check, Writes::Allowed));
}
