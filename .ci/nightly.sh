#!/usr/bin/env bash
# Nightly capacity regression: run each scenario on the virtual engine (which checks its [slo]
# table), then compare the run with the scenario's committed baseline. The workflow
# .github/workflows/nightly-capacity.yml runs exactly this script, and so can you:
#
#   cargo build --release --locked && .ci/nightly.sh
#   .ci/nightly.sh --update-baselines   # refresh results/baselines/ on purpose, then commit them
#
# For each scenario NAME it writes, under $NIGHTLY_OUT: NAME/ (the results directory),
# NAME.slo.xml and NAME.compare.xml (JUnit) and NAME.md (a Markdown summary, also appended to
# $GITHUB_STEP_SUMMARY when that is set).
#
# Exit status, the worst over all scenarios: 0 every SLO met and nothing regressed; 1 an SLO
# failed or a metric regressed; 2 bad input, e.g. no baseline, or a scenario that changed since
# its baseline was taken (refresh it on purpose); 3 a run failed.
#
# Settings (environment variables):
#   FLEETSIM        the fleetsim binary                  (default: target/release/fleetsim)
#   NIGHTLY_OUT     where results go; replaced each run  (default: results/nightly)
#   BASELINES       one NAME/summary.json per scenario   (default: results/baselines)
#   SCENARIOS       scenario files, space-separated      (default: the three shipped storms)
#   MAX_REGRESSION  how much worse than its baseline a metric may get (default: 10%)
#   NIGHTLY_SET     extra KEY=VALUE overrides for every run, space-separated (default: none).
#                   The baselines are full-size runs without overrides; the tests use this to
#                   run small fleets against baselines they take themselves.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLEETSIM=${FLEETSIM:-target/release/fleetsim}
OUT=${NIGHTLY_OUT:-results/nightly}
BASELINES=${BASELINES:-results/baselines}
SCENARIOS=${SCENARIOS:-scenarios/blackout.toml scenarios/black-friday.toml scenarios/reboot-wave.toml}
MAX_REGRESSION=${MAX_REGRESSION:-10%}
UPDATE=0

case "${1:-}" in
    "") ;;
    --update-baselines) UPDATE=1 ;;
    -h | --help)
        sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "nightly: unknown argument '$1' (expected --update-baselines or nothing)" >&2
        exit 2
        ;;
esac

if [[ ! -x $FLEETSIM ]]; then
    echo "nightly: $FLEETSIM is not an executable; build it with: cargo build --release --locked" >&2
    exit 2
fi

# Only ever replace a directory this script made.
if [[ -e $OUT && ! -e $OUT/.nightly ]]; then
    echo "nightly: $OUT exists and was not written by this script; choose another NIGHTLY_OUT" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
touch "$OUT/.nightly"

sets=()
for kv in ${NIGHTLY_SET:-}; do
    sets+=(--set "$kv")
done

status=0
worst() { if (($1 > status)); then status=$1; fi; }

for file in $SCENARIOS; do
    name=$(basename "$file" .toml)
    echo "== $name"
    "$FLEETSIM" run "$file" "${sets[@]}" --out "$OUT/$name" --junit "$OUT/$name.slo.xml" --quiet
    rc=$?
    if ((rc >= 2)); then
        echo "nightly: $name: fleetsim run exited $rc" >&2
        worst "$rc"
        continue
    fi
    if ((rc == 1)); then
        worst 1
    else
        echo "$name: every SLO met"
    fi

    if ((UPDATE)); then
        mkdir -p "$BASELINES/$name"
        cp "$OUT/$name/summary.json" "$BASELINES/$name/summary.json"
        echo "$name: baseline $BASELINES/$name/summary.json refreshed"
        continue
    fi

    "$FLEETSIM" compare "$OUT/$name" "$BASELINES/$name" --max-regression "$MAX_REGRESSION" \
        --junit "$OUT/$name.compare.xml" --markdown "$OUT/$name.md"
    rc=$?
    worst "$rc"
    if ((rc == 2)); then
        if [[ ! -e $BASELINES/$name/summary.json ]]; then
            echo "nightly: $name has no baseline; take one on purpose with: .ci/nightly.sh --update-baselines" >&2
        else
            # Show what the change costs, for the log; the verdict stays "not comparable".
            echo "nightly: $name is not comparable with its baseline; the difference, for information:" >&2
            "$FLEETSIM" compare "$OUT/$name" "$BASELINES/$name" --max-regression "$MAX_REGRESSION" --force >&2
        fi
        printf '### %s: not comparable with its baseline\n\nSee the job log; refresh the baseline on purpose if the scenario changed.\n' \
            "$name" >"$OUT/$name.md"
    fi
    if [[ -n ${GITHUB_STEP_SUMMARY:-} && -e $OUT/$name.md ]]; then
        {
            cat "$OUT/$name.md"
            echo
            # The run's own report, folded, when this fleetsim writes one.
            if [[ -e $OUT/$name/report.md ]]; then
                printf '<details><summary>%s: the run report</summary>\n\n' "$name"
                cat "$OUT/$name/report.md"
                printf '\n\n</details>\n\n'
            fi
        } >>"$GITHUB_STEP_SUMMARY"
    fi
done

echo "nightly: exit $status (0 ok, 1 an SLO failed or a metric regressed, 2 bad input, 3 a run failed)"
exit "$status"
