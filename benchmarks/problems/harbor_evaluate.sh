#!/bin/bash
# dgm's evaluator for a Harbor task (benchmarks/problems/harbor.py), baked root-owned into
# the task's layer. As Harbor's oracle and verifier do, in the environment's WORKDIR: the
# candidate's solution/ goes to /solution and `bash /solution/solve.sh` runs (killed at the
# agent timeout), then `bash /tests/test.sh` (killed at the verifier timeout); the reward it
# wrote to /logs/verifier/reward.txt or reward.json is printed as SkyDiscover's one JSON
# object, read by the container evaluator's reader. Only bash, coreutils, find and sed are
# used: a Harbor image need not have Python. Exit code 0 always, unless this script breaks.
# $1 agent timeout (s), $2 verifier timeout (s); /dgm-harbor/solution.env and
# verifier.env hold the task's [solution].env and [verifier].env as `export` lines,
# /dgm-harbor/workdir the environment image's WORKDIR.
agent_timeout=$1
verifier_timeout=$2
work=$(cat /dgm-harbor/workdir)
solve_out=/tmp/dgm-harbor-solve.txt
verify_out=/tmp/dgm-harbor-verifier.txt

json_text() { # stdin -> one JSON string of its last 1500 bytes
	printf '"'
	tail -c 1500 | LC_ALL=C tr -d '\000-\010\013\014\016-\037' |
		LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\r/\\r/g' -e 's/\t/\\t/g' |
		LC_ALL=C sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g'
	printf '"'
}

how_it_ended() { # exit code, timeout -> a sentence
	if [ "$1" -eq 137 ]; then
		echo "killed at its timeout of ${2}s (or by a signal)"
	else
		echo "exit code $1"
	fi
}

# Kills every process of the sandbox user but this runner and its ancestors (the sandbox's
# wrapper): what a step left running, setsid escapees too, so none outlives its step (a
# writer of the reward file). Builtins only in the loop: it starts no process of its own.
sweep() {
	local p=$$ keep=" " d round=0 killed=1
	while [ "$p" -gt 1 ] 2>/dev/null; do
		keep+="$p "
		p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status")
	done
	while [ $killed = 1 ] && [ $round -lt 50 ]; do
		killed=0 round=$((round + 1))
		for d in /proc/[0-9]*; do
			[[ $keep == *" ${d#/proc/} "* ]] || { kill -9 "${d#/proc/}" 2>/dev/null && killed=1; }
		done
	done
}

# Runs "$@" in the WORKDIR with the step's env, killed at its timeout, then the sweep.
step() {
	local out=$1 env=$2 seconds=$3
	shift 3
	(cd "$work" && . "$env" && exec timeout -s KILL "$seconds" "$@") </dev/null >"$out" 2>&1
	local rc=$?
	sweep
	return "$rc"
}

cp -R /task/solution/. /solution/ || exit 1
step "$solve_out" /dgm-harbor/solution.env "$agent_timeout" bash /solution/solve.sh
solve_rc=$?
# The reward is the verifier's alone: whatever the candidate left there is removed, and
# so is a file (a link into /logs/verifier) it may have put where the verifier's output goes.
find /logs/verifier -mindepth 1 -delete 2>/dev/null
rm -f "$verify_out"
step "$verify_out" /dgm-harbor/verifier.env "$verifier_timeout" bash /tests/test.sh
test_rc=$?

ended() { # output file, exit code, timeout -> its tail and how it ended, as JSON
	{
		tail -c 1300 "$1"
		printf '\n[%s]' "$(how_it_ended "$2" "$3")"
	} | json_text
}
artifacts="\"solve.sh\": $(ended "$solve_out" "$solve_rc" "$agent_timeout"),\
 \"test.sh\": $(ended "$verify_out" "$test_rc" "$verifier_timeout")"
number='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
loose='^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$'
error=""
if [ -f /logs/verifier/reward.txt ]; then
	reward=$(head -c 200 /logs/verifier/reward.txt | tr -d ' \t\r\n')
	if [[ $reward =~ $loose && ! $reward =~ $number ]]; then
		reward=$(printf '%.15g' "$reward")
	fi
	if [[ $reward =~ $number ]]; then
		metrics="{\"reward\": $reward}"
	else
		error="/logs/verifier/reward.txt holds no number: $(printf '%s' "$reward" | head -c 60)"
	fi
elif [ -f /logs/verifier/reward.json ]; then
	metrics=$(head -c 65536 /logs/verifier/reward.json)
	case $(printf '%s' "$metrics" | tr -d ' \t\r\n') in
	\{*\}) ;;
	*) error="/logs/verifier/reward.json holds no JSON object" ;;
	esac
else
	error="the verifier (tests/test.sh, $(how_it_ended "$test_rc" "$verifier_timeout")) wrote no /logs/verifier/reward.txt or reward.json"
fi
if [ -n "$error" ]; then
	printf '{"status": "error", "metrics": {}, "artifacts": {"error": %s, %s}}\n' \
		"$(printf '%s' "$error" | json_text)" "$artifacts"
else
	printf '{"status": "success", "metrics": %s, "artifacts": {%s}}\n' "$metrics" "$artifacts"
fi
