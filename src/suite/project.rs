//! A project: the optional `traceval.toml` at its root, and the suite files to run.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::doc::{ARRAY_TABLES, Doc};
use super::error::SuiteLoadError;
use super::load::conventions::conventions;
use super::load::{at_least_one, duration, load_suite_in, model_defs, model_names, prices};
use super::raw::{RawConfig, RawForward, RawProfile};
use super::spec::{Profile, Project, ProjectConfig, Suite};
use crate::forward::ForwardFile;
use crate::toml_doc::KeyPath;

type Result<T> = std::result::Result<T, SuiteLoadError>;

/// Directories discovery never enters: they hold scripted-model scripts, trace snapshots and
/// data files, which may be TOML without being suites.
const NOT_SUITE_DIRS: [&str; 3] = ["scripts", "snapshots", "data"];

/// Loads `root/traceval.toml` when it exists, then the suites.
///
/// With no `paths`, the suites are the discovered files of `root/suites`; otherwise each path
/// is a suite file, loaded whatever its name, or a directory, discovered the same way. Paths
/// are used as given (relative to the working directory, not to `root`). Finding no suite is
/// an error. Besides each suite's own checks, the names in each suite's `models` must be
/// defined in the suite or in `traceval.toml`, the models of each profile in `traceval.toml`
/// or in every suite, and no two suites may share a name.
///
/// A discovered suite with `ignore` goes to [`Project::ignored`] instead of
/// [`Project::suites`] (it is still loaded and checked); a suite file named in `paths` always
/// runs, like a test named on cargo's command line with `--ignored`.
pub(crate) fn load_project(root: &Path, paths: &[PathBuf]) -> Result<Project> {
    let config_path = root.join("traceval.toml");
    let config_bytes = match std::fs::read(&config_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SuiteLoadError::Read {
                path: config_path,
                source,
            });
        }
    };
    let (config, config_doc) = match &config_bytes {
        Some(bytes) => {
            let text = Doc::utf8(&config_path, bytes)?;
            let (doc, table) = Doc::toml(&config_path, text, ARRAY_TABLES)?;
            let raw: RawConfig = doc.deserialize(table)?;
            (config(&doc, root, raw)?, Some(doc))
        }
        None => (ProjectConfig::default(), None),
    };

    let files = suite_files(root, paths)?;
    let suites = files
        .iter()
        .map(|file| load_suite_in(file, Some(&config.models)))
        .collect::<Result<Vec<_>>>()?;
    check_unique_names(&suites)?;
    if let Some(doc) = &config_doc {
        check_profile_models(doc, &config, &suites)?;
    }
    let (ignored, suites): (Vec<Suite>, Vec<Suite>) = suites
        .into_iter()
        .partition(|suite| suite.ignore.is_some() && !paths.contains(&suite.path));
    Ok(Project {
        root: root.to_path_buf(),
        config,
        suites,
        ignored,
    })
}

/// The root of the project that `paths` (suite files or directories, relative to `cwd`)
/// belong to, found as cargo finds a package: from each path, or from `cwd` when none is
/// given, the nearest directory (itself included) holding a `traceval.toml`, else the nearest
/// holding a `suites/` directory. Its snapshots, `reports/` and `traceval.toml` are the ones a
/// run uses, wherever it is started.
///
/// A path in no project goes with the others; when no path is in one, the root is `cwd`'s
/// project, else `cwd`. A path that does not exist is left to fail when it is read. Paths in
/// two different projects are an error. The root is `.` when it is `cwd`, so that messages
/// keep the paths the user typed; otherwise it is absolute, with links resolved.
pub(crate) fn find_root(cwd: &Path, paths: &[PathBuf]) -> Result<PathBuf> {
    let real_cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let mut found: Option<(&Path, PathBuf)> = None;
    for given in paths {
        let Some(root) = cwd
            .join(given)
            .canonicalize()
            .ok()
            .and_then(|p| root_of(&p))
        else {
            continue;
        };
        match &found {
            Some((first_path, first_root)) if *first_root != root => {
                return Err(SuiteLoadError::TwoProjects {
                    first_path: first_path.to_path_buf(),
                    first_root: first_root.clone(),
                    path: given.clone(),
                    root,
                });
            }
            Some(_) => {}
            None => found = Some((given, root)),
        }
    }
    let root = found
        .map(|(_, root)| root)
        .or_else(|| root_of(&real_cwd))
        .unwrap_or_else(|| real_cwd.clone());
    Ok(if root == real_cwd {
        PathBuf::from(".")
    } else {
        root
    })
}

/// The project `path` (absolute, a file or a directory) is in: the nearest directory holding a
/// `traceval.toml`, else the nearest holding `suites/`.
fn root_of(path: &Path) -> Option<PathBuf> {
    let nearest = |marker: &str, is: fn(&Path) -> bool| {
        path.ancestors()
            .filter(|dir| dir.is_dir())
            .find(|dir| is(&dir.join(marker)))
            .map(Path::to_path_buf)
    };
    nearest("traceval.toml", Path::is_file).or_else(|| nearest("suites", Path::is_dir))
}

fn config(doc: &Doc<'_>, root: &Path, raw: RawConfig) -> Result<ProjectConfig> {
    let at = KeyPath::root();
    let profiles = raw
        .profile
        .into_iter()
        .map(|(name, raw)| {
            let profile = profile(doc, &at.key("profile").key(&name), root, raw)?;
            Ok((name, profile))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok(ProjectConfig {
        path: Some(doc.path().to_path_buf()),
        models: model_defs(doc, &at.key("model"), root, raw.model)?,
        pricing: prices(doc, &at.key("pricing"), raw.pricing)?,
        profiles,
        conventions: raw
            .conventions
            .map(|c| conventions(doc, &at.key("conventions"), c))
            .transpose()?
            .unwrap_or_default(),
        forward: raw
            .forward
            .map(|f| forward(doc, &at.key("forward"), f))
            .transpose()?
            .unwrap_or_default(),
    })
}

/// `[forward]`, each value checked where it is written; environment references are resolved
/// when the run starts.
fn forward(doc: &Doc<'_>, at: &KeyPath, raw: RawForward) -> Result<ForwardFile> {
    use crate::forward::config::{Events, Profile as ForwardProfile, Protocol};
    let check =
        |key: &str, value: &Option<String>, ok: fn(&str) -> bool, expected: &str| match value {
            Some(v) if !ok(v) => Err(doc.invalid(&at.key(key), format!("must be {expected}"))),
            _ => Ok(()),
        };
    check(
        "protocol",
        &raw.protocol,
        |v| Protocol::parse(v).is_some(),
        "grpc, http/protobuf or http/json",
    )?;
    check(
        "profile",
        &raw.profile,
        |v| ForwardProfile::parse(v).is_some(),
        "generic, phoenix, langfuse or mlflow",
    )?;
    check(
        "events",
        &raw.events,
        |v| Events::parse(v).is_some(),
        "span, log, both or none",
    )?;
    check(
        "endpoint",
        &raw.endpoint,
        |v| v.starts_with("http://") || v.starts_with("https://"),
        "an http:// or https:// URL",
    )?;
    for (name, value) in &raw.headers {
        if !value.trim().starts_with("env:") {
            let message = "must be `env:VAR`, the variable holding the value: a value written \
                           here would be committed with the file";
            return Err(doc.invalid(&at.key("headers").key(name), message));
        }
    }
    if raw.queue == Some(0) {
        return Err(doc.invalid(&at.key("queue"), "must be at least 1"));
    }
    Ok(ForwardFile {
        endpoint: raw.endpoint,
        protocol: raw.protocol,
        profile: raw.profile,
        headers: raw.headers.into_iter().collect(),
        events: raw.events,
        timeout: raw
            .timeout
            .map(|text| duration(doc, &at.key("timeout"), &text))
            .transpose()?,
        required: raw.required,
        queue: raw.queue,
        project: raw.project,
        experiment: raw.experiment_id,
    })
}

fn profile(doc: &Doc<'_>, at: &KeyPath, root: &Path, raw: RawProfile) -> Result<Profile> {
    let models = match raw.models {
        Some(models) if models.is_empty() => {
            let message = "must name at least one model (leave it out to run each suite's models)";
            return Err(doc.invalid(&at.key("models"), message));
        }
        Some(models) => Some(model_names(doc, &at.key("models"), models)?),
        None => None,
    };
    let junit = match raw.junit {
        Some(junit) if junit.is_empty() => {
            return Err(doc.invalid(&at.key("junit"), "must be a file path"));
        }
        junit => junit.map(|junit| root.join(junit)),
    };
    Ok(Profile {
        trials: raw
            .trials
            .map(|trials| at_least_one(doc, &at.key("trials"), trials))
            .transpose()?,
        jobs: raw
            .jobs
            .map(|jobs| at_least_one(doc, &at.key("jobs"), jobs))
            .transpose()?,
        timeout: raw
            .timeout
            .map(|text| duration(doc, &at.key("timeout"), &text))
            .transpose()?,
        fail_fast: raw.fail_fast,
        models,
        junit,
    })
}

/// The suite files named by `paths` (a project's directory standing for its `suites/`), or
/// discovered under `root/suites` without any.
fn suite_files(root: &Path, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut looked_in = Vec::new();
    if paths.is_empty() {
        // `suites/x.toml` rather than `./suites/x.toml` in messages when run from the root.
        let dir = if root == Path::new(".") {
            PathBuf::from("suites")
        } else {
            root.join("suites")
        };
        if dir.is_dir() {
            discover(&dir, &mut files)?;
        }
        looked_in.push(dir);
    }
    for path in paths {
        if path.is_dir() {
            // A project's directory (`traceval run ../my-evals`) means its suites: its
            // traceval.toml, scripts and agents are not suites.
            let suites = path.join("suites");
            let dir = if path.join("traceval.toml").is_file() && suites.is_dir() {
                suites
            } else {
                path.clone()
            };
            discover(&dir, &mut files)?;
            looked_in.push(dir);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(SuiteLoadError::NoSuites { looked_in });
    }
    // A file named twice (`suites suites/a.toml`) is one suite.
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    Ok(files)
}

/// Appends the suite files under `dir`, sorted by path: every `*.toml` file at any depth,
/// except hidden entries and [`NOT_SUITE_DIRS`]. Symbolic links to files are followed, to
/// directories not (a link cycle would never end).
fn discover(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let start = files.len();
    walk(dir, files)?;
    files[start..].sort();
    Ok(())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let read_error = |source| SuiteLoadError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type().map_err(read_error)?.is_dir() {
            if !NOT_SUITE_DIRS.contains(&name.as_ref()) {
                walk(&path, files)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn check_unique_names(suites: &[Suite]) -> Result<()> {
    let mut first: HashMap<&str, &Path> = HashMap::new();
    for suite in suites {
        if let Some(first_path) = first.insert(&suite.name, &suite.path) {
            return Err(SuiteLoadError::DuplicateSuite {
                name: suite.name.clone(),
                first_path: first_path.to_path_buf(),
                path: suite.path.clone(),
            });
        }
    }
    Ok(())
}

/// A profile's models replace each suite's, so each must be defined in `traceval.toml` or in
/// every suite that could run with it.
fn check_profile_models(doc: &Doc<'_>, config: &ProjectConfig, suites: &[Suite]) -> Result<()> {
    for (name, profile) in &config.profiles {
        let models = profile.models.iter().flatten().enumerate();
        for (i, model) in models.filter(|(_, model)| !config.models.contains_key(*model)) {
            if let Some(suite) = suites.iter().find(|s| !s.model_defs.contains_key(model)) {
                let message = format!(
                    "model `{model}` is defined neither in traceval.toml nor in suite `{}` ({})",
                    suite.name,
                    suite.path.display()
                );
                let at = KeyPath::root()
                    .key("profile")
                    .key(name)
                    .key("models")
                    .index(i);
                return Err(doc.invalid(&at, message));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::suite::spec::{ModelDef, Price, Provider};
    use crate::suite::testdir::TestDir;

    fn suite(name: &str) -> String {
        format!(
            "name = \"{name}\"\n[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[[case]]\nid = \"a\"\ninput = 1\n"
        )
    }

    fn names(project: &Project) -> Vec<&str> {
        project.suites.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn discovery_finds_suites_in_path_order_and_skips_non_suite_dirs() {
        let dir = TestDir::new();
        let files = [
            ("suites/b.toml", Some("b")),
            ("suites/a.toml", Some("a")),
            ("suites/a/z.toml", Some("a/z")),
            ("suites/nested/deeper/c.toml", Some("c")),
            ("suites/.hidden.toml", None),
            ("suites/.git/x.toml", None),
            ("suites/scripts/sunny.toml", None),
            ("suites/data/d.toml", None),
            ("suites/snapshots/s.toml", None),
            ("suites/nested/scripts/y.toml", None),
            ("suites/notes.txt", None),
            ("elsewhere.toml", None),
        ];
        for (file, name) in files {
            // Files that must be skipped are not even valid suites.
            let contents = name.map_or_else(|| "not a suite".to_owned(), suite);
            dir.write(file, &contents);
        }
        let project = load_project(dir.path(), &[]).unwrap();
        assert_eq!(names(&project), ["a/z", "a", "b", "c"]);
        assert_eq!(project.root, dir.path());
        assert_eq!(project.suites[1].path, dir.path().join("suites/a.toml"));
        assert_eq!(project.config.path, None);
    }

    #[test]
    fn the_root_is_the_nearest_traceval_toml_else_the_nearest_suites_dir() {
        let dir = TestDir::new();
        let base = dir.path().canonicalize().unwrap();
        dir.write("proj/traceval.toml", "");
        dir.write("proj/suites/a.toml", "");
        dir.write("proj/suites/sub/b.toml", "");
        // A suites/ inside a project with traceval.toml: the traceval.toml decides.
        dir.write("proj/examples/inner/suites/d.toml", "");
        dir.write("other/suites/c.toml", "");
        dir.write("proj/loose.toml", "");
        let root = |cwd: &str, paths: &[&str]| {
            let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
            find_root(&base.join(cwd), &paths)
        };
        let proj = base.join("proj");
        let absolute = proj.join("suites").display().to_string();
        let cases: [(&str, &[&str], PathBuf); 9] = [
            // From the root itself: `.`, so that messages keep the paths as typed.
            ("proj", &[], PathBuf::from(".")),
            ("proj", &["suites/a.toml"], PathBuf::from(".")),
            // From anywhere else, by a relative or an absolute path.
            ("", &["proj/suites/a.toml"], proj.clone()),
            ("other", &["../proj/suites/sub/b.toml"], proj.clone()),
            ("", &[&absolute], proj.clone()),
            ("", &["proj/examples/inner/suites/d.toml"], proj.clone()),
            // Without paths, from the working directory up.
            ("proj/suites/sub", &[], proj.clone()),
            ("", &["other/suites"], base.join("other")),
            // A path that does not exist is left to fail when it is read.
            (
                "other/suites",
                &["missing.toml", "../../proj/loose.toml"],
                proj,
            ),
        ];
        for (cwd, paths, expected) in cases {
            assert_eq!(root(cwd, paths).unwrap(), expected, "{cwd} {paths:?}");
        }

        let error = root("", &["proj/suites/a.toml", "other/suites/c.toml"]).unwrap_err();
        let expected = format!(
            "`proj/suites/a.toml` belongs to the project in `{}`, `other/suites/c.toml` to the \
             one in `{}`: run each project's suites in a `traceval run` of its own",
            base.join("proj").display(),
            base.join("other").display()
        );
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn given_paths_are_loaded_as_files_or_discovered_as_directories() {
        let dir = TestDir::new();
        dir.write("suites/x.toml", &suite("x"));
        dir.write("other/b.toml", &suite("b"));
        dir.write("other/a.toml", &suite("a"));
        dir.write("other/data/d.toml", "not a suite");
        let single = dir.write("loose/one.suite", &suite("one"));
        let paths = [single.clone(), dir.path().join("other"), single];
        let project = load_project(dir.path(), &paths).unwrap();
        assert_eq!(names(&project), ["one", "a", "b"]);
    }

    #[test]
    fn a_project_directory_given_as_a_path_stands_for_its_suites() {
        // `traceval run ../my-evals`: what `traceval init my-evals` wrote around its suites
        // (traceval.toml, an agent's Cargo.toml) is not read as suites.
        let dir = TestDir::new();
        dir.write("my-evals/traceval.toml", "[profile.ci]\ntrials = 1\n");
        dir.write("my-evals/agent/Cargo.toml", "[package]\nname = \"agent\"\n");
        dir.write("my-evals/suites/w.toml", &suite("w"));
        let project = load_project(dir.path(), &[dir.path().join("my-evals")]).unwrap();
        assert_eq!(names(&project), ["w"]);
        // Without traceval.toml, a directory is walked as it is.
        dir.write("plain/suites/p.toml", &suite("p"));
        dir.write("plain/q.toml", &suite("q"));
        let project = load_project(dir.path(), &[dir.path().join("plain")]).unwrap();
        assert_eq!(names(&project), ["q", "p"]);
    }

    #[test]
    fn ignored_suites_are_loaded_but_left_out_unless_named() {
        let dir = TestDir::new();
        dir.write("suites/a.toml", &suite("a"));
        let reasoned = format!("ignore = \"needs a key\"\n{}", suite("b"));
        let b = dir.write("suites/b.toml", &reasoned);
        dir.write("suites/c.toml", &format!("ignore = true\n{}", suite("c")));
        dir.write("suites/d.toml", &format!("ignore = false\n{}", suite("d")));
        let project = load_project(dir.path(), &[]).unwrap();
        assert_eq!(names(&project), ["a", "d"]);
        let ignored: Vec<_> = project
            .ignored
            .iter()
            .map(|s| (s.name.as_str(), s.ignore.as_deref()))
            .collect();
        assert_eq!(ignored, [("b", Some("needs a key")), ("c", Some(""))]);

        // Named by its file, an ignored suite runs; found in a named directory, it does not.
        let project = load_project(dir.path(), &[b]).unwrap();
        assert_eq!((names(&project), project.ignored.len()), (vec!["b"], 0));
        let project = load_project(dir.path(), &[dir.path().join("suites")]).unwrap();
        assert_eq!(project.ignored.len(), 2);

        // Ignored is not unchecked: a broken ignored suite is still an error.
        dir.write("suites/e.toml", "ignore = true\ntrials = 0\n");
        assert!(load_project(dir.path(), &[]).is_err());
    }

    #[test]
    fn finding_no_suite_is_an_error_that_says_where_it_looked() {
        let dir = TestDir::new();
        let error = load_project(dir.path(), &[]).unwrap_err();
        let expected = format!(
            "no suites found: no `.toml` files in `{}`",
            dir.path().join("suites").display()
        );
        assert_eq!(error.to_string(), expected);

        std::fs::create_dir_all(dir.path().join("empty/data")).unwrap();
        dir.write("empty/data/d.toml", "");
        let error = load_project(dir.path(), &[dir.path().join("empty")]).unwrap_err();
        assert!(
            matches!(error, SuiteLoadError::NoSuites { ref looked_in } if looked_in == &[dir.path().join("empty")])
        );

        let error = load_project(dir.path(), &[dir.path().join("missing.toml")]).unwrap_err();
        assert!(matches!(error, SuiteLoadError::Read { .. }), "{error:?}");
    }

    const CONFIG: &str = r#"
[model.sunny]
provider = "scripted"
script = "suites/scripts/sunny.toml"

[pricing.gpt]
input = 1
output = 2

[profile.ci]
trials = 3
jobs = 8
timeout = "90s"
fail-fast = true
models = ["sunny"]
junit = "reports/junit.xml"

[profile.quick]
trials = 1
"#;

    #[test]
    fn traceval_toml_holds_shared_models_pricing_and_profiles() {
        let dir = TestDir::new();
        let config = dir.write("traceval.toml", CONFIG);
        dir.write("suites/scripts/sunny.toml", "");
        // The suite runs a model only traceval.toml defines.
        dir.write(
            "suites/s.toml",
            &suite("s").replace("[agent]", "models = [\"sunny\"]\n[agent]"),
        );
        let project = load_project(dir.path(), &[]).unwrap();
        let config = ProjectConfig {
            path: Some(config),
            models: BTreeMap::from([(
                "sunny".to_owned(),
                ModelDef {
                    provider: Provider::Scripted {
                        script: dir.path().join("suites/scripts/sunny.toml"),
                    },
                    model: None,
                },
            )]),
            pricing: BTreeMap::from([(
                "gpt".to_owned(),
                Price {
                    input: 1.0,
                    output: 2.0,
                    ..Price::default()
                },
            )]),
            profiles: BTreeMap::from([
                (
                    "ci".to_owned(),
                    Profile {
                        trials: Some(3),
                        jobs: Some(8),
                        timeout: Some(Duration::from_secs(90)),
                        fail_fast: Some(true),
                        models: Some(vec!["sunny".to_owned()]),
                        junit: Some(dir.path().join("reports/junit.xml")),
                    },
                ),
                (
                    "quick".to_owned(),
                    Profile {
                        trials: Some(1),
                        ..Profile::default()
                    },
                ),
            ]),
            ..ProjectConfig::default()
        };
        assert_eq!(project.config.path, config.path);
        assert_eq!(project.config.models, config.models);
        assert_eq!(project.config.pricing, config.pricing);
        assert_eq!(project.config.profiles, config.profiles);
        assert_eq!(project.suites[0].models, ["sunny"]);
    }

    #[test]
    fn traceval_toml_conventions_apply_after_a_suites_own() {
        use crate::trace::{Concept, Kind, Span, SpanId, TraceId};

        let dir = TestDir::new();
        let project_rules = "[[conventions.kind]]\nkind = \"agent\"\nname-prefix = \"acme.\"\n\
                             [[conventions.kind]]\nkind = \"llm\"\nname-prefix = \"corp.\"\n\
                             [conventions.fields]\ntool-name = \"corp.tool\"\n";
        dir.write("traceval.toml", project_rules);
        let own = "[[conventions.kind]]\nkind = \"tool\"\nname-prefix = \"acme.fn.\"\n\
                   [conventions.fields]\ntool-name = [\"acme.tool\"]\n";
        dir.write("suites/s.toml", &format!("{}{own}", suite("s")));
        dir.write("suites/t.toml", &suite("t"));
        let project = load_project(dir.path(), &[]).unwrap();
        let shared = &project.config.conventions;
        assert_eq!(shared.rules().len(), 2);
        assert_eq!(shared.keys(Concept::ToolName), ["corp.tool"]);

        // What the runner does per suite: the suite's rules and keys first.
        let s = project.suites[0].conventions.before(shared);
        let kind = |c: &crate::trace::Conventions, name: &str| {
            c.classify(&Span::new(TraceId([1; 16]), SpanId([1; 8]), name))
        };
        assert_eq!(kind(&s, "acme.fn.lookup"), Kind::Tool);
        assert_eq!(kind(&s, "acme.run"), Kind::Agent);
        assert_eq!(kind(&s, "corp.chat"), Kind::Llm);
        assert_eq!(s.keys(Concept::ToolName), ["acme.tool", "corp.tool"]);
        // A suite without its own reads spans by the project's alone.
        let t = project.suites[1].conventions.before(shared);
        assert!(project.suites[1].conventions.is_empty());
        assert_eq!(kind(&t, "acme.fn.lookup"), Kind::Agent);
    }

    #[test]
    fn a_builtin_suite_runs_models_defined_in_traceval_toml() {
        let dir = TestDir::new();
        dir.write("traceval.toml", CONFIG);
        dir.write("suites/scripts/sunny.toml", "");
        let text = "models = [\"sunny\"]\n[agent]\nkind = \"builtin\"\nsystem-prompt = \"be brief\"\n[[case]]\nid = \"a\"\ninput = 1\n";
        dir.write("suites/b.toml", text);
        let project = load_project(dir.path(), &[]).unwrap();
        let suite = &project.suites[0];
        assert_eq!(suite.models, ["sunny"]);
        assert!(suite.model_defs.is_empty());
        let crate::suite::Agent::Builtin(agent) = &suite.agent else {
            panic!("{:?}", suite.agent);
        };
        assert_eq!(agent.name, "b");
        assert_eq!(agent.system_prompt.as_deref(), Some("be brief"));
    }

    #[test]
    fn project_errors_point_at_the_key() {
        let with_models = |models: &str| {
            let models =
                format!("models = {models}\n[model.local]\nprovider = \"openai\"\n[agent]");
            suite("s").replace("[agent]", &models)
        };
        // traceval.toml, the files under suites/, the error shown and its hint.
        type Case<'a> = (&'a str, &'a [(&'a str, String)], &'a str, Option<&'a str>);
        let builtin = |models: &str| {
            format!(
                "models = {models}\n[agent]\nkind = \"builtin\"\n[[tool]]\nname = \"t\"\nreturns = 1\n[[case]]\nid = \"a\"\ninput = 1\n"
            )
        };
        // A judge of a suite with its own model `local`; `model` names the judge's model.
        let judged = |model: &str| {
            format!(
                "{}[[case.expect.judge]]\nmodel = \"{model}\"\nrubric = \"x\"\n",
                with_models("[\"local\"]")
            )
        };
        let judged_jsonl = format!("cases = \"c.jsonl\"\n{}", with_models("[\"local\"]"));
        let cases: [Case<'_>; 15] = [
            // `[conventions]` in traceval.toml is checked like a suite's.
            (
                "[[conventions.kind]]\nkind = \"tool\"\nname-regex = \"acme.(\"\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:3:14: `conventions.kind[0].name-regex` is not a valid regex",
                None,
            ),
            (
                "[[conventions.kind]]\nkind = \"agnt\"\nname = \"run\"\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:2:8: `conventions.kind[0].kind` must be one of `llm`, `tool`, `agent`, `retrieval`, `embedding`, `retry`, `step`, `other`, found `agnt`",
                Some("did you mean `agent`?"),
            ),
            (
                "[conventions.fields]\nagent = [\"acme.agent\"]\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:2:1: unknown key `conventions.fields.agent`",
                None,
            ),
            (
                "[profile.ci]\nfail_fast = true\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:2:1: unknown key `profile.ci.fail_fast`",
                Some("did you mean `fail-fast`?"),
            ),
            (
                "[profile.ci]\njobs = 0\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:2:8: invalid `profile.ci.jobs`: must be at least 1",
                None,
            ),
            (
                "[profile.ci]\nmodels = []\n",
                &[("s.toml", suite("s"))],
                "traceval.toml:2:10: invalid `profile.ci.models`: must name at least one model (leave it out to run each suite's models)",
                None,
            ),
            (
                "[profile.ci]\nmodels = [\"local\", \"gone\"]\n",
                &[("s.toml", with_models("[\"local\"]"))],
                "traceval.toml:2:20: invalid `profile.ci.models[1]`: model `gone` is defined neither in traceval.toml nor in suite `s` (suites/s.toml)",
                None,
            ),
            (
                "[model.shared]\nprovider = \"anthropic\"\n",
                &[("s.toml", with_models("[\"local\", \"shared\", \"sharde\"]"))],
                "suites/s.toml:2:30: invalid `models[2]`: model `sharde` is not defined: add a `[model.sharde]` table to the suite or to traceval.toml",
                Some("did you mean `shared`?"),
            ),
            // A builtin suite's models are checked as any other's.
            (
                "[model.shared]\nprovider = \"anthropic\"\n",
                &[("b.toml", builtin("[\"shared\", \"gpt\"]"))],
                "suites/b.toml:1:21: invalid `models[1]`: model `gpt` is not defined: add a `[model.gpt]` table to the suite or to traceval.toml",
                None,
            ),
            (
                "[profile.ci]\nmodels = [\"local\"]\n",
                &[("s.toml", with_models("[\"local\"]")), ("b.toml", builtin("[]").replace("models = []\n", ""))],
                "traceval.toml:2:11: invalid `profile.ci.models[0]`: model `local` is defined neither in traceval.toml nor in suite `b` (suites/b.toml)",
                None,
            ),
            // A judge's model is checked like the names in `models`, in a suite and in its
            // cases file.
            (
                "[model.shared]\nprovider = \"anthropic\"\n",
                &[("s.toml", judged("sharde"))],
                "suites/s.toml:12:9: invalid `case[0].expect.judge[0].model`: model `sharde` is not defined: add a `[model.sharde]` table to the suite or to traceval.toml (any provider: scripted, openai or anthropic)",
                Some("did you mean `shared`?"),
            ),
            (
                "",
                &[("s.toml", judged("locl"))],
                "suites/s.toml:12:9: invalid `case[0].expect.judge[0].model`: model `locl` is not defined: add a `[model.locl]` table to the suite or to traceval.toml (any provider: scripted, openai or anthropic)",
                Some("did you mean `local`?"),
            ),
            (
                "[model.shared]\nprovider = \"anthropic\"\n",
                &[
                    ("s.toml", judged_jsonl.clone()),
                    (
                        "c.jsonl",
                        r#"{"id": "b", "input": 1, "expect": {"judge": [{"model": "shared", "rubric": "x"}, {"name": "j2", "model": "gone", "rubric": "y"}]}}"#.to_owned(),
                    ),
                ],
                "suites/c.jsonl:1:106: invalid `expect.judge[1].model`: model `gone` is not defined: add a `[model.gone]` table to the suite or to traceval.toml (any provider: scripted, openai or anthropic)",
                None,
            ),
            (
                "",
                &[("s.toml", "[[case]]\nid = \"a\"\ninput = 1\n".to_owned())],
                "suites/s.toml:1:1: missing required key `agent`",
                None,
            ),
            (
                "",
                &[("s.toml", suite("dup")), ("a.toml", suite("dup"))],
                "suites `suites/a.toml` and `suites/s.toml` are both named `dup`; set `name` in one of them",
                None,
            ),
        ];
        for (config, suites, expected, hint) in cases {
            let dir = TestDir::new();
            dir.write("traceval.toml", config);
            for (file, text) in suites {
                dir.write(&format!("suites/{file}"), text);
            }
            let error = load_project(dir.path(), &[]).unwrap_err();
            let shown = error
                .to_string()
                .replace(&format!("{}/", dir.path().display()), "");
            assert_eq!(shown, expected);
            assert_eq!(error.hint(), hint, "{shown}");
        }
    }
}
