#!/usr/bin/env bash
# The `traceval run` step of the GitHub Action (action.yml), a script so that it can be run and
# tested outside GitHub (tests/it/action.rs). Reads the inputs from TRACEVAL_ACTION_* variables,
# writes the report, the HTML page and the JUnit file to $RUNNER_TEMP/traceval, and its outputs
# to $GITHUB_OUTPUT. Exits 0 whatever the run did: the action's last step exits with the run's
# code, after the artifact is uploaded.
set -uo pipefail

out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/traceval"
name="${TRACEVAL_ACTION_ARTIFACT:-traceval-report}"
shard="${TRACEVAL_ACTION_SHARD:-}"
suffix=""
if [ -n "$shard" ]; then
  # 1/4 → -1-of-4: a shard's artifact and files do not collide with another's, also when a
  # later job downloads every shard's artifact into one directory to merge them.
  suffix="-${shard//\//-of-}"
  name="$name$suffix"
fi
report="$out/report$suffix.json"
html="$out/report$suffix.html"
args=(run --report "$report" --html "$html" --junit "$out/junit$suffix.xml")
[ -z "$shard" ] || args+=(--shard "$shard")
IFS=',' read -ra models <<< "${TRACEVAL_ACTION_MODELS:-}"
for model in ${models[@]+"${models[@]}"}; do
  model="${model//[[:space:]]/}"
  [ -z "$model" ] || args+=(--model "$model")
done
if [ -n "${TRACEVAL_ACTION_BASELINE:-}" ]; then
  args+=(--baseline "$TRACEVAL_ACTION_BASELINE" --fail-on-regression --fail-on-broken)
fi
# Words (`read` does not glob); `${a[@]+…}` for the bash 3.2 of macOS, where an empty array
# is unbound under `set -u`.
read -ra extra <<< "${TRACEVAL_ACTION_ARGS:-}"
read -ra paths <<< "${TRACEVAL_ACTION_PATHS:-}"
args+=(${extra[@]+"${extra[@]}"} ${paths[@]+"${paths[@]}"})

mkdir -p "$out"
echo "traceval ${args[*]}"
traceval "${args[@]}"
code=$?

# With --save-traces, the traces go into the artifact too, beside the report as `traceval
# merge`, `html` and `compare --html` look for them: <run-id>/traces/.
traces=$(sed -n 's/^ *"traces_dir": *"\(.*\)",\{0,1\}$/\1/p' "$report" 2>/dev/null | head -n 1)
if [ -n "$traces" ] && [ -d "$traces" ]; then
  run_dir="$out/$(basename "$(dirname "$traces")")"
  mkdir -p "$run_dir"
  cp -R "$traces" "$run_dir/"
elif [ -n "$traces" ]; then
  echo "::warning::the saved traces are not in the artifact: \`$traces\` (as the report spells it) is not a directory"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    echo "report=$report"
    echo "html=$html"
    echo "dir=$out"
    echo "artifact-name=$name"
  } >> "$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$html" ]; then
  echo "The JSON report, the HTML page (\`${html##*/}\`) and the JUnit file are in the artifact \`$name\`." >> "$GITHUB_STEP_SUMMARY"
fi
exit 0
