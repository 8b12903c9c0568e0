"""The bad-input table: what a careless or hostile user types, across every command, and the
one line dgm must answer with (exit code 2, no traceback, nothing changed on disk).

Each case is (command line, a piece of the error line). Placeholders: {run}, {agent},
{child}, {twin} and {bench} are ids in the test archive (tests/cli/conftest.py); files
like bad-yaml.yaml are in the case's working folder (conftest.FILES); the archive there
is a.db, also the default through $DGM_ARCHIVE.

USAGE_CASES are click's usage errors (unknown option, missing argument, a value of the
wrong type): exit 2 and no traceback today; one line once `dgm.cli.main` turns typer's box
into one line (see test_bad_input.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Case:
    args: str  # split on spaces; use \x00 for an argument containing spaces
    expect: str  # a piece of the one error line
    marks: tuple[pytest.MarkDecorator, ...] = ()

    def argv(self, **ids: str) -> list[str]:
        return [a.replace("\x00", " ").format(**ids) for a in self.args.split(" ")]


def c(args: str, expect: str, *marks: pytest.MarkDecorator) -> Case:
    return Case(args, expect, marks)


BIG = "99999999999999999999999999"
NO_SUITE = "--suite no-such-suite"  # a run that validated would stop here, before any run row

CASES: list[Case] = [
    # -- dgm run: the config file --------------------------------------------------------
    c("run no-such-preset", "no preset or config file 'no-such-preset'"),
    c("run missing.yaml", "no preset or config file 'missing.yaml'"),
    c("run bad-yaml.yaml", "bad-yaml.yaml is not valid YAML: line 2, column"),
    c("run tab-yaml.yaml", "tab-yaml.yaml is not valid YAML: line"),
    c("run not-utf8.yaml", "not-utf8.yaml is not UTF-8 text"),
    c("run list.yaml", "list.yaml must be a YAML mapping"),
    c("run scalar.yaml", "scalar.yaml must be a YAML mapping"),
    c("run python-tag.yaml", "python-tag.yaml is not valid YAML"),
    c("run empty-dir", "no preset or config file 'empty-dir'"),
    c("run bool-workers.yaml", "'workers': give a number, not true"),
    c("run no-stage-tasks.yaml", "'stages.0.tasks': name a subset"),
    c("run bool-memory.yaml", "'agent_limits.memory_mb': give a number, not true"),
    c("run ok.yaml --resume {run}", "either a preset/config or --resume"),
    # -- dgm run: every number and choice --------------------------------------------------
    c(
        f"run --seed {BIG}",
        "'seed': out of range (got 99999999999999999999999999; valid: at least 0",
    ),
    c("run --seed -1", "'seed': out of range (got -1"),
    c("run --seeds 1-x", "--seeds '1-x': '1-x' is not a seed or a range"),
    c("run --seeds 5-1", "the range 5-1 runs backwards: give 1-5"),
    c("run --seeds ,", "is not a seed or a range"),
    c("run --seeds 1-100000", "more than 100 seeds"),
    c("run --seeds 1-3 --seed 2", "give either --seed or --seeds, not both"),
    c("run --seeds 1-3 --resume {run}", "--seeds starts new runs: drop --resume"),
    # a key in the URL would be stored with the run's config: refused, and masked in the error
    c("run --api-base http://u:hunter22pw@h:8000/v1", "'api_base': the URL holds a credential"),
    c(
        "run --api-base http://h:8000/v1?api_key=abcdefgh123",
        "(got 'http://h:8000/v1?api_key=***')",
    ),
    c("run --api-base localhost:8000/v1", "'api_base': give the server's URL with http://"),
    c("run --workers 0", "'workers': out of range (got 0; valid: at least 1 and at most 64)"),
    c("run --workers 65", "'workers': out of range (got 65"),
    c("run --workers -3", "'workers': out of range"),
    c("run --max-iterations -1", "'max_iterations': out of range"),
    c(f"run --max-iterations {BIG}", "'max_iterations': out of range"),
    c("run --max-evaluations 0", "'max_evaluations': out of range"),
    c(f"run --max-evaluations {BIG}", "'max_evaluations': out of range"),
    c("run --budget-usd 0", "'budget_usd': out of range"),
    c("run --budget-usd -5", "'budget_usd': out of range"),
    c(
        "run --budget-usd nan",
        "'budget_usd': out of range (got nan; valid: a finite number above 0",
    ),
    c("run --budget-usd inf", "'budget_usd': Input should be a finite number"),
    c("run --budget-usd -inf", "'budget_usd'"),
    c("run --wall-clock 0", "'wall_clock_s': out of range"),
    c(
        "run --wall-clock nan",
        "'wall_clock_s': out of range (got nan; valid: a finite number above 0",
    ),
    c(
        "run --wall-clock inf",
        "'wall_clock_s': out of range (got inf; valid: a finite number above 0",
    ),
    c("run --wall-clock 1e12", "'wall_clock_s': out of range"),
    c("run --name " + "n" * 5000, "'name': String should have at most 200 characters"),
    c("bench run --agent seed --suite swe-mini --name " + "n" * 5000, "--name must be 1 to 200"),
    c("run --sandbox vm", "'sandbox': Input should be 'docker' or 'local'"),
    c("run --sandbox \x00", "'sandbox'"),
    c("run --selector greedy", "'selector': use one of"),
    c("run --operator crossover", "'operator': use one of"),
    c("run --suite no-such-suite", "unknown suite 'no-such-suite'"),
    c("run --suite swe-mini:huge", "unknown swe-mini subset 'huge'"),
    c("run --suite polyglot:missing-dir", "missing-dir is not a directory"),
    c("run --suite swebench:missing.jsonl", "no such file missing.jsonl"),
    c("run --suite swebench:garbage.json", "garbage.json is not valid JSON"),
    c("run --suite swebench:numbers.json", "entry 1 is a int, not an instance object"),
    c("run --suite swebench:binary.json", "binary.json is not UTF-8 text"),
    c("run --model \x00 " + NO_SUITE, "unknown suite"),
    c("run --name \x00 " + NO_SUITE, "unknown suite"),
    # -- dgm run: a new run refused by its model or seed-agent checks -----------------------
    # `--archive new.db` names an archive that is not there: a refused run must not create
    # it (the table checks that no file appears). A replay: model only reads an archive.
    c("run --model gpt-4o --archive new.db", "model 'gpt-4o' has no provider prefix"),
    c("run --model scripted:missing.yaml --archive new.db", "'missing.yaml' not found"),
    c(
        "run --set reevo.reflector_model=gpt-4o --archive new.db",
        "reevo.reflector_model: model 'gpt-4o' has no provider prefix",
    ),
    c("run --set novelty.judge_model=gpt-4o --archive new.db", "novelty.judge_model: model"),
    c(
        "run --set seed_agent=missing-agent --archive new.db",
        "seed_agent 'missing-agent' is not a directory",
    ),
    c("run --model replay:nope --archive new.db", "no archive at"),
    c("run --model replay:nope", "cannot replay run 'nope': no run matches 'nope'"),
    # -- dgm run: fields only a YAML sets (through --resume's stored config) ---------------
    c("run --resume {run} --selector best", "--resume keeps the run's configuration; selector"),
    c("run --resume {run} --seed 3", "seed cannot change"),
    c("run --resume {run} --model local", "model cannot change"),
    c("run --resume {run} --suite swe-mini", "suite cannot change"),
    c("run --resume {run} --workers 0", "'workers': out of range"),
    c(
        "run --resume {run} --budget-usd nan",
        "'budget_usd': out of range (got nan; valid: a finite number above 0",
    ),
    c("run --resume {run} --max-iterations -2", "'max_iterations': out of range"),
    c("run --resume {run} --sandbox vm", "'sandbox'"),
    c("run --resume nope", "no run matches 'nope'"),
    c("run --resume ffffffffffffffff", "no run matches"),
    c("run --resume twin", "2 runs are named 'twin'"),
    c("run --resume {bench}", "is a 'bench' run, not an evolution run"),
    c("run --resume {run} --archive missing.db", "no archive at"),
    c("run --resume {run} --archive empty-dir", "is a directory, not an archive file"),
    c("run --resume {run} --archive not-a-db.db", "cannot use"),
    # -- dgm runs ---------------------------------------------------------------------------
    c("runs --archive missing.db", "no archive at"),
    c("runs --archive \x00", "--archive is empty"),
    c("archive list {run} --archive \x00", "--archive is empty"),
    c("run --resume {run} --archive \x00", "--archive is empty"),
    c("runs --archive empty-dir", "is a directory, not an archive file"),
    c("runs --archive not-a-db.db", "cannot use"),
    c("runs --archive binary.json", "cannot use"),
    c("runs --archive foo://bar", "cannot open archive foo://bar"),
    c("runs --archive sqlite:////nonexistent-dir/x.db", "no archive at"),
    c("runs --archive postgresql://u@127.0.0.1:1/x", "cannot open archive"),
    c("runs --json --archive missing.db", "no archive at"),
    c("runs --archive what?.db", "no archive at"),
    c("runs --archive sqlite://:", "invalid archive URL 'sqlite://:'"),
    # -- dgm archive ... -------------------------------------------------------------------
    c("archive list nope", "no run matches 'nope'"),
    c("archive list twin", "2 runs are named 'twin'"),
    c("archive list {run} --status done", "unknown status 'done' for --status"),
    c("archive list {run} --status \x00", "unknown status"),
    c("archive list {run} --sort age", "cannot sort by 'age'"),
    c("archive list {run} --min-score nan", "--min-score nan is out of range"),
    c("archive list {run} --min-score inf", "--min-score inf is out of range"),
    c("archive list {run} --archive missing.db", "no archive at"),
    c("archive show nope", "no agent matches 'nope'"),
    c("archive show ffff", "no agent matches"),
    c("archive show \x00", "no agent matches"),
    c("archive show {run}", "no agent matches"),
    c("archive show {agent} --archive not-a-db.db", "cannot use"),
    c("archive tree nope", "no run matches 'nope'"),
    c("archive tree twin", "2 runs are named 'twin'"),
    c("archive tree {run} --archive missing.db", "no archive at"),
    c("archive diff nope", "no agent matches 'nope'"),
    c("archive diff {agent} nope", "no agent matches 'nope'"),
    c("archive diff nope {agent}", "no agent matches 'nope'"),
    c("archive lineage nope", "no agent matches 'nope'"),
    c("archive lineage {run}", "no agent matches"),
    c("archive best nope", "no run matches 'nope'"),
    c("archive best twin", "2 runs are named 'twin'"),
    c("archive export nope out", "no agent matches 'nope'"),
    c("archive export {agent} \x00", "DEST is empty"),  # Path("") would be the current folder
    c("archive export {agent} empty-dir/.keep", "is a file: give a folder path"),
    # -- dgm compare -------------------------------------------------------------------------
    c("compare nope {run}", "no run matches 'nope'"),
    c("compare {run}", "dgm compare needs two or more runs (got 1)"),
    c("compare {run} {run}", "is given twice: name each run once"),
    c("compare {run} twin", "2 runs are named 'twin'"),
    c("compare {run} {bench} --out empty-dir", "is a folder: give a file path"),
    c("compare {run} {bench} --out log.txt", "--out log.txt already exists"),
    c("compare {run} {bench} --out a.db --force", "is the archive itself"),
    c("compare {run} {bench} --archive missing.db", "no archive at"),
    # -- dgm report --------------------------------------------------------------------------
    c("report nope", "no run matches 'nope'"),
    c("report twin", "2 runs are named 'twin'"),
    c("report {run} --archive missing.db", "no archive at"),
    c("report {run} --archive empty-dir", "is a directory, not an archive file"),
    # -- dgm llm ... -------------------------------------------------------------------------
    c(
        "llm chat capital --model scripted:script.yaml --temperature -1",
        "--temperature -1 is out of range: give a finite number at least 0 and at most 2",
    ),
    c(
        "llm chat capital --model scripted:script.yaml --temperature 2.5",
        "--temperature 2.5 is out of range",
    ),
    c(
        "llm chat capital --model scripted:script.yaml --temperature nan",
        "--temperature nan is out of range",
    ),
    c(
        "llm chat capital --model scripted:script.yaml --temperature inf",
        "--temperature inf is out of range",
    ),
    c(
        "llm chat capital --model scripted:script.yaml --max-tokens 0",
        "--max-tokens 0 is out of range",
    ),
    c(
        "llm chat capital --model scripted:script.yaml --max-tokens -5",
        "--max-tokens -5 is out of range",
    ),
    c(f"llm chat capital --model scripted:script.yaml --max-tokens {BIG}", "--max-tokens"),
    c(
        "llm chat capital --model scripted:missing.yaml",
        "scripted responses file 'missing.yaml' not found",
    ),
    c(
        "llm chat capital --model scripted:bad-script.yaml",
        "'bad-script.yaml' is not valid YAML: line 2, column 1",
    ),
    c(
        "llm chat capital --model openai/m --api-base localhost:8000/v1",
        "--api-base: give the server's URL with http://",
    ),
    c(
        "llm serve --model openai/m --api-base http://u:hunter22pw@h:8000/v1",
        "--api-base: the URL holds a credential",
    ),
    c("llm chat capital --model scripted:binary.json", "is invalid"),
    c("llm chat capital --model scripted:empty-dir", "not found"),
    c("llm chat capital --model replay:nope", "cannot replay run 'nope'"),
    c("llm chat capital --model replay:{run}", "has no successful LLM calls to replay"),
    c("llm chat capital --model replay:", "replay: needs a run id"),
    c("llm chat capital --model gpt-4o", "model 'gpt-4o' has no provider prefix"),
    c("llm chat capital --model \x00", "--model is empty"),
    c(
        "llm serve --model scripted:script.yaml --port 70000",
        "--port 70000 is out of range: give a finite number at least 0 and at most 65535",
    ),
    c("llm serve --model scripted:script.yaml --port -1", "--port -1 is out of range"),
    c("llm serve --model scripted:missing.yaml", "not found"),
    c("llm serve --model replay:nope", "cannot replay run 'nope'"),
    c("llm serve --model gpt-4o", "has no provider prefix"),
    c("llm usage nope", "no run matches 'nope'"),
    c("llm usage twin", "2 runs are named 'twin'"),
    c("llm usage {run} --archive missing.db", "no archive at"),
    # -- dgm cluster -------------------------------------------------------------------------
    c("cluster status", "no cluster was started here"),
    c("cluster down", "no cluster was started here"),
    # -- dgm ui ------------------------------------------------------------------------------
    c("ui --port 70000", "--port 70000 is not a port"),
    c("ui --port -5", "--port -5 is not a port"),
    c("ui --archive missing.db", "no archive at"),
    c("ui --archive empty-dir", "is a directory"),
    # -- dgm bench ... -----------------------------------------------------------------------
    c("bench validate no-such-suite", "unknown suite 'no-such-suite'"),
    c("bench validate swe-mini:huge", "unknown swe-mini subset 'huge'"),
    c("bench validate swe-mini --tasks no-such-task", "no task matches no-such-task"),
    c("bench validate swe-mini --backend vm", "unknown sandbox backend 'vm'"),
    c("bench validate swe-mini --tasks ,", "--tasks names no task"),
    c("bench validate swe-mini --workers 100000", "--workers 100000 is out of range"),
    c(f"bench run --agent seed --suite swe-mini --attempts {BIG}", "--attempts"),
    c(f"bench run --agent seed --suite swe-mini --workers {BIG}", "--workers"),
    c(f"bench run --agent seed --suite swe-mini --max-steps {BIG}", "--max-steps"),
    c("bench run --agent seed --suite swe-mini --tasks ,", "--tasks names no task"),
    c("bench run --agent seed --suite swe-mini --tasks \x00", "--tasks names no task"),
    c("bench validate swebench:numbers.json", "entry 1 is a int"),
    c("bench validate swebench:garbage.jsonl", "garbage.jsonl is not valid JSONL"),
    c("bench validate swebench:object-no-fields.json", "lacks instance_id"),
    c("bench validate polyglot:missing-dir", "missing-dir is not a directory"),
    c("bench validate swebench:nested.json", "nested.json is not valid JSON (nested too deeply)"),
    c("bench validate swebench:nested.jsonl", "nested.jsonl is not valid JSONL (nested too"),
    c("bench validate swebench:corrupt.parquet", "corrupt.parquet is not a readable parquet"),
    c("bench validate swebench:empty.jsonl", "empty.jsonl holds no instance"),
    c("run --suite swebench:empty.jsonl", "empty.jsonl holds no instance"),
    c("bench validate swebench:traversal.json", "'../../../../x' is not a SWE-bench id"),
    c("bench run --agent seed --suite swebench:traversal.json", "is not a SWE-bench id"),
    c("bench validate swebench:twice.jsonl", "instance_id a appears twice"),
    c("bench validate polyglot:pg-str", "files.solution must be a list of file names"),
    c("bench validate polyglot:pg-list", "has no usable `files` entry"),
    c("bench validate polyglot:pg-binary", "has no usable `files` entry"),
    c("bench validate polyglot:pg-binsrc", "a file of the exercise is not UTF-8 text"),
    c("run --suite polyglot:pg-binsrc", "a file of the exercise is not UTF-8 text"),
    c("bench run --agent seed --suite no-such-suite", "unknown suite 'no-such-suite'"),
    c(
        "bench run --agent seed --suite swe-mini --agent-timeout nan",
        "--agent-timeout nan is out of range",
    ),
    c(
        "bench run --agent seed --suite swe-mini --agent-timeout inf",
        "--agent-timeout inf is out of range",
    ),
    c("bench run --agent seed --suite swe-mini --agent-timeout 1e12", "--agent-timeout"),
    c(
        "bench run --agent seed --suite swe-mini --tasks no-such-task --model scripted:script.yaml",
        "no task matches no-such-task",
    ),
    c("bench run --agent seed --suite swe-mini --model gpt-4o", "has no provider prefix"),
    c("bench run --agent seed --suite swe-mini --model scripted:missing.yaml", "not found"),
    c("bench run --agent seed --suite swe-mini --model replay:nope", "cannot replay run 'nope'"),
    c("bench run --agent empty-dir --suite swe-mini", "empty-dir is not an agent"),
    c("bench run --agent no-main --suite swe-mini", "no-main is not an agent"),
    c("bench run --agent ./missing-dir --suite swe-mini", "no such agent directory"),
    c("bench run --agent nope --suite swe-mini", "no agent matches 'nope'"),
    c(
        "bench run --agent seed --suite swebench:wrong-types.json",
        "field repo input should be a valid string",
    ),
    c("bench run --agent seed --suite swebench:wrong-f2p.json", "not a list of test ids"),
    c("bench run --agent seed --suite swebench:f2p-not-json.json", "is not a JSON list"),
    c("bench grade --instance missing.json --log log.txt", "no such instance file missing.json"),
    c("bench grade --instance instance.json --log missing.txt", "no such log file missing.txt"),
    c("bench grade --instance empty-dir --log log.txt", "no such instance file"),
    c("bench grade --instance instance.json --log empty-dir", "no such log file"),
    c("bench grade --instance garbage.json --log log.txt", "garbage.json is not valid JSON"),
    c("bench grade --instance blank.json --log log.txt", "blank.json is not valid JSON"),
    c("bench grade --instance binary.json --log log.txt", "binary.json is not UTF-8 text"),
    c(
        "bench grade --predictions binary.json --suite swe-mini",
        "binary.json is not UTF-8 text (byte 0): save the predictions as UTF-8",
    ),
    c("bench grade --instance numbers.json --log log.txt", "entry 1 is a int"),
    c("bench grade --instance object-no-fields.json --log log.txt", "lacks instance_id"),
    c(
        "bench grade --instance wrong-types.json --log log.txt",
        "field repo input should be a valid string",
    ),
    c("bench grade --instance wrong-f2p.json --log log.txt", "not a list of test ids"),
    c(
        "bench grade --instance two-instances.jsonl --log log.txt",
        "holds 2 instances: pick one with --id",
    ),
    c("bench grade --instance two-instances.jsonl --log log.txt --id c", "holds 0 instances"),
    c("bench grade --instance instance.json --log log.txt --parser nope", "unknown parser 'nope'"),
    c("bench export nope", "'nope' is neither an agent nor a run"),
    c("bench export {run} --format csv", "unknown format 'csv'"),
    c("bench export twin", "2 runs are named 'twin'"),
    c("bench export {bench}", "has no agents"),
    c("bench export {agent}", "has no evaluations to export"),
    c("bench export {run} --archive missing.db", "no archive at"),
    # -- dgm sandbox ... ---------------------------------------------------------------------
    c("sandbox run", "no command given"),
    c("sandbox run --backend vm -- true", "unknown backend 'vm'"),
    c("sandbox run --workdir missing-dir -- true", "--workdir missing-dir is not a directory"),
    c("sandbox run --workdir log.txt -- true", "is not a directory"),
    c("sandbox run --timeout 0 -- true", "--timeout 0 is out of range"),
    c("sandbox run --timeout nan -- true", "--timeout nan is out of range"),
    c("sandbox run --timeout inf -- true", "--timeout inf is out of range"),
    c("sandbox run --timeout -1 -- true", "--timeout -1 is out of range"),
    c(
        "sandbox run --memory -1 -- true",
        "invalid limit 'memory_mb': out of range (got -1; valid: at least 64 and at most 1048576)",
    ),
    c("sandbox run --memory 10 -- true", "'memory_mb': out of range (got 10"),
    c("sandbox run --memory 99999999999999 -- true", "--memory 99999999999999 is out of range"),
    c("sandbox run --cpus 0 -- true", "--cpus 0 is out of range"),
    c("sandbox run --cpus nan -- true", "--cpus nan is out of range"),
    c("sandbox run --cpus 1e9 -- true", "--cpus 1000000000 is out of range"),
    # -- dgm problem score ---------------------------------------------------------------------
    c("problem score nope", "no problem at nope"),
    c("problem score problem-empty", "is in no layout dgm reads"),
    c("problem score log.txt", "no problem at log.txt"),
    c("problem score problem-binary", "problem.yaml is not a valid problem"),
    c("problem score problem-nan", "timeout_s"),
    c("problem score problem-huge", "memory_mb"),
    c("problem score problem-binprog", "p.py is not UTF-8 text"),
    c("problem score openevolve-binary", "a file of the problem is not UTF-8 text"),
    # a timeout that is no deadline: refused, never a run with an evaluation that never ends
    c("problem score openevolve-neg", "evaluator.timeout: timeout -5 is out of range"),
    c("problem score openevolve-nan", "evaluator.timeout: timeout nan is out of range"),
    c("problem score openevolve-inf", "evaluator.timeout: timeout inf is out of range"),
    c("problem score openevolve-huge", "evaluator.timeout: timeout 1e300 is out of range"),
    c("run --problem openevolve-nan --operator diff", "timeout nan is out of range"),
    c("problem score tsp_constructive --timeout inf", "--timeout inf is out of range"),
    c("problem score tsp_constructive --timeout nan", "--timeout nan is out of range"),
    c("problem score tsp_constructive --program missing.py", "--program missing.py: no such file"),
    c("problem score tsp_constructive --program empty-dir", "no such file"),
    c("problem score tsp_constructive --program binary.json", "is not UTF-8 text"),
    c("problem score tsp_constructive --backend vm", "unknown sandbox backend 'vm'"),
    c("problem score tsp_constructive --heldout", "declares no held-out split"),
]

# Click's own usage errors: exit 2 and no traceback now; one line with startup's main().
USAGE_CASES: list[Case] = [
    c("nope", "No such command 'nope'"),
    c("cluster up --workers 0", "0 is not in the range 1<=x<=16"),
    c("cluster up --cpus -1", "'--cpus'"),
    c("cluster up --sandboxes 0", "'--sandboxes'"),
    c("cluster up --cpus 1.5", "'1.5' is not a valid integer"),
    c("run --nope", "No such option: --nope"),
    c("run --workers many", "'--workers'"),
    c("run --seed 1.5", "'--seed'"),
    c("run --budget-usd lots", "'--budget-usd'"),
    c("runs extra", "unexpected extra argument"),
    c("archive list", "Missing argument 'RUN'"),
    c("archive nope", "No such command 'nope'"),
    c("archive list {run} --limit 0", "'--limit'"),
    c("archive show", "Missing argument"),
    c("report", "Missing argument 'RUN'"),
    c("llm chat", "Missing argument 'PROMPT'"),
    c("llm chat hi --max-tokens many", "'--max-tokens'"),
    c("llm serve --port http", "'--port'"),
    c("ui --port http", "'--port'"),
    c("bench run --suite swe-mini", "Missing option '--agent'"),
    c("bench run --agent seed", "Missing option '--suite'"),
    c("bench run --agent seed --suite swe-mini --workers 0", "'--workers'"),
    c("bench run --agent seed --suite swe-mini --attempts 0", "'--attempts'"),
    c("bench run --agent seed --suite swe-mini --max-steps 0", "'--max-steps'"),
    c("bench grade --log log.txt", "give --instance FILE and --log FILE"),
    c("bench grade --predictions p.jsonl --suite swe-mini --workers 0", "'--workers'"),
    c("bench pull", "Missing argument 'SUITE'"),
    c("bench images", "Missing argument 'SUITE'"),
    c("bench validate", "Missing argument 'SUITE'"),
    c("sandbox run --memory lots -- true", "'--memory'"),
    c("sandbox build --nope", "No such option: --nope"),
    c("problem score", "Missing argument 'PATH'"),
    c("problem score tsp_constructive --timeout 0", "'--timeout'"),
]

# A row edited by hand (SQL run on a copy of the test archive), then a command that reads it.
CORRUPT_CASES: list[tuple[str, Case]] = [
    ("UPDATE runs SET config = '{oops'", c("archive tree {run}", "config of run")),
    ("UPDATE runs SET totals = 'oops'", c("run --resume {run} --workers 1", "totals of run")),
    ("UPDATE runs SET status = 'exploded'", c("runs", "status='exploded'")),
    ("UPDATE runs SET created_at = 'yesterday'", c("runs", "created_at='yesterday'")),
    ("UPDATE runs SET seed = 'lucky'", c("archive show {agent}", "seed='lucky'")),
    ("UPDATE agents SET scores = '[1,'", c("archive list {run}", "scores of agent")),
    ("UPDATE agents SET score = 'high'", c("archive list {run}", "score='high'")),
    ("UPDATE agents SET score = 'high'", c("archive tree {run}", "score='high'")),
    ("UPDATE agents SET score = 'high'", c("runs", "score='high'")),
    ("UPDATE agents SET status = 'zombie'", c("archive show {agent}", "status='zombie'")),
    ("UPDATE agents SET generation = 'old'", c("archive lineage {child}", "generation='old'")),
    ("UPDATE evaluations SET score = 'x'", c("archive show {child}", "evaluation")),
    (
        "UPDATE evaluations SET duration_ms = 'slow'",
        c("bench export {child}", "duration_ms='slow'"),
    ),
    ("UPDATE agents SET cost_usd = 'free'", c("archive best {run}", "cost_usd='free'")),
]
