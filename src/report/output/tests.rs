use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::event::{RunFinished, Warning};

/// What a recording output saw, in order.
type Seen = Rc<RefCell<Vec<String>>>;

/// An output that records every call, and can refuse to prepare or finish.
struct Recording {
    name: &'static str,
    seen: Seen,
    fails: bool,
}

impl Recording {
    fn boxed(name: &'static str, seen: &Seen, fails: bool) -> Box<dyn Output> {
        Box::new(Recording {
            name,
            seen: Rc::clone(seen),
            fails,
        })
    }

    fn result(&self) -> Result<(), WriteError> {
        if !self.fails {
            return Ok(());
        }
        Err(WriteError {
            path: self.name.into(),
            source: std::io::Error::other("refused"),
        })
    }
}

impl Output for Recording {
    fn prepare(&mut self) -> Result<(), WriteError> {
        self.seen
            .borrow_mut()
            .push(format!("{} prepare", self.name));
        self.result()
    }

    fn on_event(&mut self, event: &RunEvent) {
        let what = match event {
            RunEvent::Warning(w) => w.message.clone(),
            RunEvent::RunFinished(_) => "finished".to_owned(),
            _ => "other".to_owned(),
        };
        self.seen.borrow_mut().push(format!("{} {what}", self.name));
    }

    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        let warnings = report.warnings.len();
        self.seen
            .borrow_mut()
            .push(format!("{} finish ({warnings} warning)", self.name));
        self.result()
    }
}

fn events() -> [RunEvent; 2] {
    [
        RunEvent::Warning(Warning {
            trial: None,
            message: "w".to_owned(),
        }),
        RunEvent::RunFinished(RunFinished {
            duration_ms: 1.0,
            stopped: None,
            not_run: 0,
            unattributed_spans: 0,
            unattributed: Vec::new(),
        }),
    ]
}

#[tokio::test]
async fn a_registered_output_sees_every_event_then_the_folded_report() {
    let seen = Seen::default();
    let mut outputs = Outputs::from_list(vec![
        Recording::boxed("a", &seen, false),
        Recording::boxed("b", &seen, false),
    ]);
    outputs.prepare().unwrap();
    let mut reporters = Reporters::new(RunMeta::default(), outputs);
    for event in events() {
        reporters.on_event(event);
    }
    let report = reporters.finish().await.unwrap();
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(
        *seen.borrow(),
        [
            "a prepare",
            "b prepare",
            "a w",
            "b w",
            "a finished",
            "b finished",
            "a finish (1 warning)",
            "b finish (1 warning)",
        ]
    );
}

#[tokio::test]
async fn an_output_that_cannot_write_stops_the_ones_after_it_only() {
    let seen = Seen::default();
    let list = || {
        Outputs::from_list(vec![
            Recording::boxed("shown", &seen, false),
            Recording::boxed("file", &seen, true),
            Recording::boxed("later", &seen, false),
        ])
    };
    let e = list().prepare().unwrap_err();
    assert_eq!(e.path, PathBuf::from("file"));
    assert_eq!(*seen.borrow(), ["shown prepare", "file prepare"]);
    seen.borrow_mut().clear();
    let e = Reporters::new(RunMeta::default(), list())
        .finish()
        .await
        .unwrap_err();
    assert!(matches!(e, FinishError::Write(_)), "{e}");
    assert_eq!(
        *seen.borrow(),
        ["shown finish (0 warning)", "file finish (0 warning)"]
    );
}

#[test]
fn json_lines_are_one_event_per_line() {
    let mut lines = json_lines::JsonLines::new(Vec::new());
    for event in events() {
        lines.on_event(&event);
    }
    let text = String::from_utf8(lines.0).unwrap();
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: Vec<serde_json::Value> = events()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(parsed, expected);
}

#[test]
fn the_list_holds_the_outputs_the_settings_ask_for() {
    let dir = std::env::temp_dir().join(format!("tv-outputs-{}", std::process::id()));
    let mut settings = OutputSettings {
        terminal: TerminalOptions::default(),
        traces_dir: None,
        json_lines: false,
        report: dir.join("r.json"),
        junit: None,
        github: None,
    };
    assert_eq!(Outputs::registered(&settings, None, Vec::new()).0.len(), 2);
    settings.json_lines = true;
    settings.junit = Some(dir.join("j.xml"));
    settings.github = Some(GithubSettings {
        summary: Some(dir.join("summary.md")),
        workspace: dir.clone(),
        annotations_on_stderr: false,
        cases: CaseOrigins::new(),
    });
    assert_eq!(Outputs::registered(&settings, None, Vec::new()).0.len(), 6);
    settings.github.as_mut().unwrap().summary = None;
    let mut outputs = Outputs::registered(&settings, None, Vec::new());
    assert_eq!(outputs.0.len(), 5);
    // The file outputs check their locations; a directory where the JUnit file goes fails.
    std::fs::create_dir_all(dir.join("j.xml")).unwrap();
    let e = outputs.prepare().unwrap_err();
    assert_eq!(e.path, dir.join("j.xml"));
    let _ = std::fs::remove_dir_all(&dir);
}
