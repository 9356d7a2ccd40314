//! What `--help` shows after the options of each command: examples, the exit codes and where
//! the reference is. Kept here so that the texts read as a whole.

/// After `traceval --help`.
pub(super) const TRACEVAL: &str = "\
Examples:
  traceval run                          run every suite under the project's suites/
  traceval run suites/weather.toml -k 5 --filter paris
  traceval list --model careful         print the plan without running it

Exit codes: 0 every trial passed, 1 a check failed, 2 bad suite, configuration or usage,
3 infrastructure (receiver, report or snapshot not writable), 130 interrupted.

Reference: docs/reference/ (suite keys, agents, scripted models, selectors, metrics, exit codes,
the report schema).";

/// After `traceval run --help`.
pub(super) const RUN: &str = "\
Examples:
  traceval run                          every suite of the project, from any directory in it
  traceval run suites/weather.toml -k 5 --filter paris --model careful
  traceval run ../proj/suites --junit junit.xml --baseline base.json --fail-on-broken

The project (traceval.toml, suites/snapshots/, reports/) is the nearest directory above the
suites (or above the working directory, without paths) holding a traceval.toml, else one
holding suites/; --project DIR names it.

Exit codes: 0 every trial passed, 1 a trial failed, 2 bad suite, configuration or usage,
3 infrastructure (receiver, report or snapshot not writable), 130 interrupted (the report of
what finished is still written). With --baseline and a gate flag, a failed rule turns 0 into 1.

Under GitHub Actions (GITHUB_ACTIONS=true) the run's Markdown summary is appended to
$GITHUB_STEP_SUMMARY (--no-github-summary: not) and failing cases are annotated at their lines.

Reference: docs/reference/ (suite.md, agent.md, selectors.md, metrics.md, exit-codes.md,
github-actions.md, compare.md).";

/// After `traceval list --help`.
pub(super) const LIST: &str = "\
Examples:
  traceval list                         every case × model the project's suites would run
  traceval list --filter 'weather::*' --model careful

Exit codes: 0 the plan is printed, 2 bad suite, configuration or usage (a filter that matches
no case included).

Reference: docs/reference/ (suite.md, exit-codes.md).";

/// After `traceval snapshot --help`.
pub(super) const SNAPSHOT: &str = "\
Examples:
  traceval snapshot                     list the pending .snap.new files
  traceval snapshot review              show each diff and press a, r, s or q
  traceval snapshot accept 'weather::*'

Exit codes: 0 done, 2 usage (no such --project, a filter that matches no pending snapshot,
review without a terminal), 3 a snapshot file cannot be read or written, 130 Ctrl-C in review.

Reference: docs/reference/ (suite.md: snapshot keys, exit-codes.md).";

/// After `traceval inspect --help`.
pub(super) const INSPECT: &str = "\
Examples:
  traceval inspect trace.otlp.jsonl     the span tree of each trace
  traceval inspect --json reports/RUN-ID/traces/*.otlp.jsonl

Exit codes: 0 printed, 2 a trace or conventions file cannot be read or parsed, 3 output
cannot be written.

Reference: docs/reference/ (selectors.md, metrics.md, exit-codes.md).";

/// After `traceval serve-model --help`.
pub(super) const SERVE_MODEL: &str = "\
Examples:
  traceval serve-model suites/python/scripts/weather.toml --port 8080
It prints its base URL on stdout and serves until Ctrl-C: point your agent's
OPENAI_BASE_URL at it.

Exit codes: 0 stopped by Ctrl-C, 2 bad script, 3 cannot listen on the port.

Reference: docs/reference/ (scripted-model.md, exit-codes.md).";

/// After `traceval compare --help`.
pub(super) const COMPARE: &str = "\
Examples:
  traceval compare reports/base.json reports/new.json
  traceval compare reports/run.json --baseline-model careful
  traceval compare base.json new.json --fail-on-regression --fail-on-broken --markdown pr.md

Without a gate flag (--fail-on-regression, --fail-on-broken, --max-drop,
--require-non-inferior, --max-cost-increase, --max-latency-increase) compare reports and exits
0 whatever it finds; with one it is a gate, and each failed rule is printed last.

Exit codes: 0 compared (the gate held), 1 a gate rule failed, 2 usage or incomparable reports
(unknown format, duplicate or no shared cases, a changed case definition without
--allow-changed-suites), 3 a report cannot be read or an output written.

Reference: docs/reference/compare.md.";
