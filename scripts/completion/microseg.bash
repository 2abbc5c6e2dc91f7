# shellcheck shell=bash
# Bash completion for microseg: its subcommands, each one's options, and the values of options
# that take a fixed set of them or a path. Installed as
# share/bash-completion/completions/microseg, where bash-completion loads it on first use; or
# `source` it. tests/cli/test_help.py checks that it offers exactly the options of each
# command's --help.

_microseg_options() {
  local common="--config --threads --quiet --verbose --stall-timeout --help"
  # The segmentation options segment, sweep and promote share (src/app/model_options.cpp).
  local model="--input --features --scale --log1p --method --bisect --init --init-centroids"
  model+=" --max-iter --tol --lloyd --seed --silhouette-sample --previous --warm-start"
  model+=" --value-feature --min-segment-size --merge-small --match-max-distance"
  model+=" --checkpoint-every --resume --macro-k --micro-k-rule --sample-weight --missing"
  model+=" --assignments-csv --one-hot --clip-quantiles --weights"
  model+=" --privacy-min-count --pseudonymise-ids"
  case "$1" in
    generate)
      echo "--customers --segments --separation --seed --macro-segments --macro-separation" \
        "--quarters --migration-rate --churn-rate --new-customers --mover-churn-factor" \
        "--output $common"
      ;;
    segment) echo "--output --k --restarts $model $common" ;;
    "generate campaign")
      echo "--run --input --uplift --base-rate --treatment-share --revenue-mean --seed --output" \
        "$common"
      ;;
    evaluate)
      echo "--run --outcomes --id-column --group-column --treatment --control" \
        "--converted-column --revenue-column --cost-per-contact --previous --privacy-min-count" \
        "--output $common"
      ;;
    assign)
      echo "--model --input --output --assignments-csv --privacy-min-count --pseudonymise-ids" \
        "$common"
      ;;
    "ingest features")
      echo "--csv --id-column --output --categorical --delimiter --skip-bad-rows $common"
      ;;
    "ingest transactions")
      echo "--csv --customer-column --date-column --amount-column --unit-price-column" \
        "--quantity-column --as-of" \
        "--window-days --no-header --delimiter --skip-bad-rows --output $common"
      ;;
    sweep) echo "--output --k --restarts --task $model $common" ;;
    sweep-merge) echo "--parts --output --k $common" ;;
    promote) echo "--sweep --k --output --restarts $model $common" ;;
    reproduce) echo "--run --scratch --keep $common" ;;
    forecast)
      echo "--runs --horizon --output --estimate --top --intervals-seed --draws" \
        "--privacy-min-count --pseudonymise-ids $common"
      ;;
    version) echo "--help" ;;
  esac
}

_microseg() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD - 1]}"
  local commands="generate segment assign ingest sweep sweep-merge promote forecast evaluate reproduce version"
  local command="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      -*) ;;
      *)
        command="${COMP_WORDS[i]}"
        break
        ;;
    esac
  done
  if [[ -z "$command" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$commands --help --help-all --version" -- "$cur")
    return
  fi
  if [[ "$command" == ingest ]]; then
    local kind="${COMP_WORDS[i + 1]:-}"
    if ((COMP_CWORD == i + 1)); then
      mapfile -t COMPREPLY < <(compgen -W "features transactions" -- "$cur")
      return
    fi
    command="ingest $kind"
  fi
  if [[ "$command" == generate ]]; then
    if ((COMP_CWORD == i + 1)) && [[ "$cur" != -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "campaign $(_microseg_options generate)" -- "$cur")
      return
    fi
    [[ "${COMP_WORDS[i + 1]:-}" == campaign ]] && command="generate campaign"
  fi
  case "$prev" in
    --scale) mapfile -t COMPREPLY < <(compgen -W "zscore minmax robust none" -- "$cur") && return ;;
    --init) mapfile -t COMPREPLY < <(compgen -W "kmeans-parallel kmeans++ file" -- "$cur") && return ;;
    --method) mapfile -t COMPREPLY < <(compgen -W "kmeans bisecting" -- "$cur") && return ;;
    --bisect) mapfile -t COMPREPLY < <(compgen -W "largest-inertia largest-size" -- "$cur") && return ;;
    --micro-k-rule) mapfile -t COMPREPLY < <(compgen -W "inertia proportional sweep" -- "$cur") && return ;;
    --estimate) mapfile -t COMPREPLY < <(compgen -W "pooled last" -- "$cur") && return ;;
    --lloyd) mapfile -t COMPREPLY < <(compgen -W "auto plain pruned" -- "$cur") && return ;;
    --missing) mapfile -t COMPREPLY < <(compgen -W "reject mean median drop" -- "$cur") && return ;;
    --delimiter) mapfile -t COMPREPLY < <(compgen -W ", ';' tab whitespace" -- "$cur") && return ;;
    --input | --config | --init-centroids | --csv | --output | --model | --previous | --sweep | --parts | --runs | --run | --outcomes | --scratch | --pseudonymise-ids)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur") && return
      ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$(_microseg_options "$command")" -- "$cur")
}

complete -o filenames -F _microseg microseg
