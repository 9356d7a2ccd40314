//! `[agent]` and a builtin agent's `[[tool]]` tables.

use super::*;

const BUILTIN_SUITE: &str = r#"name = "weather"
models = ["sunny"]
cases = "data/more.jsonl"

[agent]
kind = "builtin"
name = "weather-bot"
system-prompt = "You answer weather questions with get_weather."
max-turns = 6
temperature = 0.2

[model.sunny]
provider = "scripted"
script = "scripts/sunny.toml"

[[tool]]
name = "get_weather"
description = "Current weather in a city"
parameters = { type = "object", properties = { city = { type = "string" } }, required = ["city"] }
returns-by-args = [
  { args = { city = "Paris" }, returns = "18 C and sunny" },
  { args = { city = "Tokyo" }, returns = { temp = 22, sky = "cloudy", at = 2024-05-01T10:00:00Z } },
  { returns = "unknown city" },
]

[[tool]]
name = "search"
returns = ["doc1", "doc2", 1979-05-27]

[[tool]]
name = "lookup"
command = ["python3", "tools/lookup.py"]
timeout = "10s"

[[tool]]
name = "local-script"
command = ["./tools/local.sh", "--json"]

[[tool]]
name = "delete_account"
error = "permission denied"

[[tool]]
name = "Forecast-2"
[tool.parameters]
type = "object"
properties.days = { type = "integer" }
[[tool.returns-by-args]]
args = { days = 1, when = 07:30:00 }
returns = 1979-05-27
[[tool.returns-by-args]]
args = {}
returns = { rain = true }

[[case]]
id = "paris"
input = "What's the weather in Paris?"
[case.expect]
tools = [{ name = "get_weather", args = { city = "Paris" } }, { name = "search" }]
"#;

#[test]
fn a_builtin_suite_loads_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suites/weather.toml", BUILTIN_SUITE);
    dir.write("suites/scripts/sunny.toml", "");
    dir.write(
        "suites/data/more.jsonl",
        "{\"id\": \"oslo\", \"input\": \"Oslo?\", \"expect\": {\"tools\": [{\"name\": \"Forecast-2\"}]}}\n",
    );
    let suite = load_suite(&path).unwrap();
    let suite_dir = dir.path().join("suites");
    let tool = |name: &str, description: Option<&str>, parameters, result| ToolDef {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        parameters,
        result,
    };
    let object = json!({ "type": "object" });
    let expected = Agent::Builtin(BuiltinAgent {
        name: "weather-bot".to_owned(),
        system_prompt: Some("You answer weather questions with get_weather.".to_owned()),
        max_turns: 6,
        temperature: Some(0.2),
        tools: vec![
            tool(
                "get_weather",
                Some("Current weather in a city"),
                json!({
                    "type": "object",
                    "properties": { "city": { "type": "string" } },
                    "required": ["city"],
                }),
                ToolResult::ReturnsByArgs(vec![
                    ArgsCase {
                        args: Some(json!({ "city": "Paris" })),
                        returns: json!("18 C and sunny"),
                    },
                    ArgsCase {
                        args: Some(json!({ "city": "Tokyo" })),
                        // TOML datetimes become their text, as JSON has no date type.
                        returns: json!({ "temp": 22, "sky": "cloudy", "at": "2024-05-01T10:00:00Z" }),
                    },
                    ArgsCase {
                        args: None,
                        returns: json!("unknown city"),
                    },
                ]),
            ),
            tool(
                "search",
                None,
                object.clone(),
                ToolResult::Returns(json!(["doc1", "doc2", "1979-05-27"])),
            ),
            tool(
                "lookup",
                None,
                object.clone(),
                ToolResult::Command {
                    // A bare program name is left for PATH lookup.
                    program: PathBuf::from("python3"),
                    args: vec!["tools/lookup.py".to_owned()],
                    cwd: suite_dir.clone(),
                    timeout: Duration::from_secs(10),
                    line: 32,
                },
            ),
            tool(
                "local-script",
                None,
                object.clone(),
                ToolResult::Command {
                    program: suite_dir.join("./tools/local.sh"),
                    args: vec!["--json".to_owned()],
                    cwd: suite_dir.clone(),
                    timeout: Duration::from_secs(30),
                    line: 37,
                },
            ),
            tool(
                "delete_account",
                None,
                object,
                ToolResult::Error("permission denied".to_owned()),
            ),
            tool(
                "Forecast-2",
                None,
                json!({ "type": "object", "properties": { "days": { "type": "integer" } } }),
                ToolResult::ReturnsByArgs(vec![
                    ArgsCase {
                        args: Some(json!({ "days": 1, "when": "07:30:00" })),
                        returns: json!("1979-05-27"),
                    },
                    // An empty `args` matches any call, like no `args`.
                    ArgsCase {
                        args: Some(json!({})),
                        returns: json!({ "rain": true }),
                    },
                ]),
            ),
        ],
    });
    assert_eq!(suite.agent, expected);
    assert_eq!(suite.name, "weather");
    assert_eq!(suite.models, ["sunny"]);
    assert_eq!(
        suite.model_defs["sunny"].provider,
        Provider::Scripted {
            script: suite_dir.join("scripts/sunny.toml")
        }
    );
    let ids: Vec<&str> = suite.cases.iter().map(|case| case.id.as_str()).collect();
    assert_eq!(ids, ["paris", "oslo"]);
    let expected_tools = vec![
        ExpectedTool {
            name: "get_weather".to_owned(),
            args: Some(json!({ "city": "Paris" })),
        },
        ExpectedTool {
            name: "search".to_owned(),
            args: None,
        },
    ];
    assert_eq!(suite.cases[0].expect.tools, Some(expected_tools));
    assert_eq!(suite.cases[0].origin.line, 55);
}

#[test]
fn a_builtin_agent_without_optional_keys_gets_the_defaults() {
    let dir = TestDir::new();
    let text = format!("{BUILTIN}\n[[tool]]\nname = \"echo\"\nreturns = \"ok\"\n");
    let path = dir.write("smoke.toml", &text);
    let suite = load_suite(&path).unwrap();
    let expected = Agent::Builtin(BuiltinAgent {
        // The suite's name, here the file stem.
        name: "smoke".to_owned(),
        system_prompt: None,
        max_turns: 10,
        temperature: None,
        tools: vec![ToolDef {
            name: "echo".to_owned(),
            description: None,
            parameters: json!({ "type": "object" }),
            result: ToolResult::Returns(json!("ok")),
        }],
    });
    assert_eq!(suite.agent, expected);
    // No tools at all is a builtin agent that can only answer.
    let path = dir.write("bare.toml", BUILTIN);
    let Agent::Builtin(agent) = load_suite(&path).unwrap().agent else {
        panic!("not a builtin agent");
    };
    assert!(agent.tools.is_empty());
    assert_eq!((agent.name.as_str(), agent.max_turns), ("bare", 10));
}

/// Suites that must not load: agent.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // The builtin agent: near-miss keys.
        bad(
            builtin_agent("system_prompt = \"x\""),
            "suite.toml:3:1: unknown key `agent.system_prompt`",
        )
        .hint("did you mean `system-prompt`?"),
        bad(
            builtin_agent("max-turn = 3"),
            "suite.toml:3:1: unknown key `agent.max-turn`",
        )
        .hint("did you mean `max-turns`?"),
        bad(
            builtin_agent("temprature = 1"),
            "suite.toml:3:1: unknown key `agent.temprature`",
        )
        .hint("did you mean `temperature`?"),
        bad(
            builtin_tool("name = \"x\"\nreturns_by_args = []"),
            "suite.toml:9:1: unknown key `tool[0].returns_by_args`",
        )
        .hint("did you mean `returns-by-args`?"),
        bad(
            builtin_tool("name = \"x\"\nreturn = 1"),
            "suite.toml:9:1: unknown key `tool[0].return`",
        )
        .hint("did you mean `returns`?"),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ arg = {}, returns = 1 }]"),
            "suite.toml:9:22: unknown key `tool[0].returns-by-args[0].arg`",
        )
        .hint("did you mean `args`?"),
        bad(
            format!("{BUILTIN}[[tools]]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:7:3: unknown key `tools`",
        )
        .hint("did you mean `tool`?"),
        bad(
            format!("{BUILTIN}[tool]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:7:1: `tool` must be an array, found table",
        )
        .hint("write `[[tool]]`, with two brackets, before each tool"),
        // Keys of one agent kind under the other, and tools without a builtin agent.
        bad(
            builtin_agent("command = [\"python3\", \"agent.py\"]"),
            "suite.toml:3:11: invalid `agent.command`: does not apply to agent kind `builtin`, which runs traceval's own tool loop (`command`, `env` and `cwd` are for `kind = \"command\"`)",
        ),
        bad(
            builtin_agent("env = { A = \"1\" }"),
            "suite.toml:3:7: invalid `agent.env`: does not apply to agent kind `builtin`…",
        ),
        bad(
            builtin_agent("cwd = \"work\""),
            "suite.toml:3:7: invalid `agent.cwd`: does not apply to agent kind `builtin`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nsystem-prompt = \"be brief\"\n"),
            "suite.toml:2:17: invalid `agent.system-prompt`: does not apply to agent kind `command` (`name`, `system-prompt`, `max-turns` and `temperature` are for `kind = \"builtin\"`)",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nname = \"bot\"\n"),
            "suite.toml:2:8: invalid `agent.name`: does not apply to agent kind `command`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nmax-turns = 3\n"),
            "suite.toml:2:13: invalid `agent.max-turns`: does not apply to agent kind `command`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\ntemperature = 0\n"),
            "suite.toml:2:15: invalid `agent.temperature`: does not apply to agent kind `command`…",
        ),
        bad(
            format!("{BASE}\n[[tool]]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:9:1: invalid `tool`: `tool` tables need `[agent] kind = \"builtin\"`; a command agent brings its own tools",
        ),
        // Builtin agent values.
        bad(
            builtin_agent("max-turns = 0"),
            "suite.toml:3:13: invalid `agent.max-turns`: must be at least 1",
        ),
        bad(
            builtin_agent("max-turns = -1"),
            "suite.toml:3:13: `agent.max-turns` must be a non-negative integer up to 4294967295, found integer `-1`",
        ),
        bad(
            builtin_agent("temperature = 2.5"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found 2.5",
        ),
        bad(
            builtin_agent("temperature = -0.1"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found -0.1",
        ),
        bad(
            builtin_agent("temperature = nan"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found NaN",
        ),
        bad(
            builtin_agent("temperature = inf"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found inf",
        ),
        bad(
            builtin_agent("temperature = \"warm\""),
            "suite.toml:3:15: `agent.temperature` must be a number, found string \"warm\"",
        ),
        bad(
            builtin_agent("name = \" \""),
            "suite.toml:3:8: invalid `agent.name`: must not be empty",
        ),
        bad(
            builtin_agent("system-prompt = \"\""),
            "suite.toml:3:17: invalid `agent.system-prompt`: must not be empty",
        ),
        // Tool names.
        bad(
            builtin_tool("returns = 1"),
            "suite.toml:7:1: missing required key `tool[0].name`",
        ),
        bad(
            builtin_tool("name = \"get weather\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `get weather` contains ' '; LLM APIs accept only letters, digits, `_` and `-` in a tool name",
        ),
        bad(
            builtin_tool("name = \"naïve\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `naïve` contains 'ï'; LLM APIs accept only letters, digits, `_` and `-` in a tool name",
        ),
        bad(
            builtin_tool("name = \"a.b\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `a.b` contains '.'…",
        ),
        bad(
            builtin_tool(&format!("name = \"{}\"\nreturns = 1", "t".repeat(65))),
            "suite.toml:8:8: invalid `tool[0].name`: `ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt` is 65 characters long; LLM APIs accept at most 64 in a tool name",
        ),
        bad(
            builtin_tool("name = \"\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: must not be empty",
        ),
        bad(
            format!(
                "{BUILTIN}[[tool]]\nname = \"x\"\nreturns = 1\n[[tool]]\nname = \"y\"\nreturns = 2\n[[tool]]\nname = \"x\"\nerror = \"no\"\n"
            ),
            "suite.toml:14:8: invalid `tool[2].name`: tool `x` is defined twice, first at line 8; tool names must be unique",
        ),
        // Tool results: exactly one.
        bad(
            builtin_tool("name = \"x\"\ndescription = \"does x\""),
            "suite.toml:7:1: invalid `tool[0]`: tool `x` has no result: give one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            format!("tool = [{{ name = \"x\" }}]\n{BUILTIN}"),
            "suite.toml:1:9: invalid `tool[0]`: tool `x` has no result: give one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nerror = \"no\""),
            "suite.toml:10:9: invalid `tool[0].error`: tool `x` has `returns` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool(
                "name = \"x\"\nerror = \"no\"\ncommand = [\"a\"]\nreturns-by-args = [{ returns = 1 }]",
            ),
            "suite.toml:10:11: invalid `tool[0].command`: tool `x` has `returns-by-args`, `command` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool("name = \"x\"\nerror = \"no\"\nreturns = 1"),
            "suite.toml:10:11: invalid `tool[0].returns`: tool `x` has `returns` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        // returns-by-args.
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = []"),
            "suite.toml:9:19: invalid `tool[0].returns-by-args`: must have at least one entry, e.g. [{ args = { city = \"Paris\" }, returns = \"sunny\" }]",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ returns = 1 }, { args = { a = 1 } }]"),
            "suite.toml:9:37: missing required key `tool[0].returns-by-args[1].returns`",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ args = \"Paris\", returns = 1 }]"),
            "suite.toml:9:29: invalid `tool[0].returns-by-args[0].args`: must be a table of the arguments a call must contain (leave it out to match any call)",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ args = 2024-05-01, returns = 1 }]"),
            "suite.toml:9:29: invalid `tool[0].returns-by-args[0].args`: must be a table…",
        ),
        bad(
            builtin_tool(
                "name = \"x\"\nreturns-by-args = [\n  { returns = 0 },\n  { args = { a = 1 }, returns = 1 },\n]",
            ),
            "suite.toml:11:3: invalid `tool[0].returns-by-args[1]`: is never used: `tool[0].returns-by-args[0]` before it matches every call, having no `args` or empty ones; put that entry last",
        ),
        bad(
            builtin_tool(
                "name = \"x\"\n[[tool.returns-by-args]]\nargs = {}\nreturns = 0\n[[tool.returns-by-args]]\nreturns = 1",
            ),
            "suite.toml:12:1: invalid `tool[0].returns-by-args[1]`: is never used: `tool[0].returns-by-args[0]` before it matches every call, having no `args` or empty ones…",
        ),
        // command and timeout.
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\ntimeout = \"5s\""),
            "suite.toml:10:11: invalid `tool[0].timeout`: applies only to a tool with `command`: it bounds the command's run",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = [\"tool.sh\"]\ntimeout = \"0s\""),
            "suite.toml:10:11: invalid `tool[0].timeout`: `0s` is zero; a duration must be positive",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = [\"tool.sh\"]\ntimeout = 5"),
            "suite.toml:10:11: `tool[0].timeout` must be a string, found integer `5`",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = []"),
            "suite.toml:9:11: invalid `tool[0].command`: must start with the program to run, e.g. [\"python3\", \"tools/lookup.py\"]",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = \"tool.sh\""),
            "suite.toml:9:11: `tool[0].command` must be an array, found string \"tool.sh\"",
        ),
        // parameters, description, error.
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nparameters = \"city\""),
            "suite.toml:10:14: invalid `tool[0].parameters`: must be a table: the JSON schema of the arguments, e.g. { type = \"object\", properties = { city = { type = \"string\" } } }",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nparameters = { type = \"string\" }"),
            "suite.toml:10:23: invalid `tool[0].parameters.type`: must be \"object\", found \"string\": LLM APIs pass a tool's arguments as an object",
        ),
        bad(
            builtin_tool("name = \"x\"\nerror = \"\""),
            "suite.toml:9:9: invalid `tool[0].error`: must not be empty",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\ndescription = \" \""),
            "suite.toml:10:15: invalid `tool[0].description`: must not be empty",
        ),
    ]
}
