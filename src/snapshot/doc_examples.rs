//! The examples in the docs of the snapshot module's items, which doctests cannot reach (the
//! module is private), run as unit tests. Keep them equal to the docs.

/// The example in the docs of `snapshot_file_to_text` (src/snapshot/file.rs).
#[test]
fn snapshot_file_to_text_example() {
    use crate::snapshot::SnapshotFile;

    let file = SnapshotFile {
        source: "suites/weather.toml".into(),
        suite: "weather".into(),
        case: "paris".into(),
        model: "gpt-4o".into(),
        body: "invoke_agent weather [agent]".into(),
    };
    assert_eq!(
        file.to_text(),
        "---\nsource: suites/weather.toml\nexpression: \"weather::paris (gpt-4o)\"\ninfo:\n  \
         suite: weather\n  case: paris\n  model: gpt-4o\n---\ninvoke_agent weather [agent]\n"
    );
    assert_eq!(SnapshotFile::parse(&file.to_text()), Some(file));
}

/// The example in the docs of `diff` (src/snapshot/mod.rs).
#[test]
fn diff_example() {
    use crate::snapshot::diff;

    let d = diff("a\nb\n", "a\nc\n", "snapshot", "trial", 20);
    assert_eq!(d, "--- snapshot\n+++ trial\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
}

/// The example in the docs of `resolve` (src/snapshot/mod.rs).
#[test]
fn resolve_example() {
    use crate::snapshot::{SnapshotMode, Writes, resolve};

    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        resolve(None, env(&[])),
        Ok((SnapshotMode::Check, Writes::Allowed))
    );
    assert_eq!(
        resolve(Some(SnapshotMode::Update), env(&[("CI", "true")])),
        Ok((SnapshotMode::Check, Writes::Never("CI is set".into())))
    );
    // Azure Pipelines sets `TF_BUILD`, not `CI`; an explicit `CI=false` wins over it.
    assert_eq!(
        resolve(Some(SnapshotMode::Update), env(&[("TF_BUILD", "True")])),
        Ok((SnapshotMode::Check, Writes::Never("CI is set".into())))
    );
    assert_eq!(
        resolve(None, env(&[("TF_BUILD", "True"), ("CI", "false")])),
        Ok((SnapshotMode::Check, Writes::Allowed))
    );
    assert_eq!(
        resolve(None, env(&[("INSTA_UPDATE", "always")])),
        Ok((SnapshotMode::Update, Writes::Allowed))
    );
}

/// The example in the docs of `file_stem` (src/snapshot/name.rs).
#[test]
fn file_stem_example() {
    use crate::snapshot::file_stem;

    assert_eq!(
        file_stem("weather", "paris", "gpt-4o"),
        "weather__paris@gpt-4o"
    );
    let escaped = file_stem("weather", "../../etc/passwd", "gpt-4o");
    assert!(
        escaped.starts_with("weather________etc_passwd@gpt-4o~"),
        "{escaped}"
    );
    assert!(!escaped.contains('/') && !escaped.contains(".."));
}
