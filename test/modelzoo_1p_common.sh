# Shared body of train_full_1p.sh and train_performance_1p.sh, the Ascend
# ModelZoo launch scripts; they set their defaults and source this file.
#
# It reads ModelZoo-style --name=value options, trains with
# run_wideresnet.py on one device, writing everything under
# ${output_dir}/${ASCEND_DEVICE_ID}/:
#   train_${ASCEND_DEVICE_ID}.log   the whole training output
#   ckpt/                           the checkpoint
#   train_${CaseName}_loss.txt      the logged training losses
#   ${CaseName}.log                 the summary the dashboards read
# and prints the ModelZoo summary block. It runs on an Ascend NPU when
# CANN's npu_bridge imports, otherwise on the CPU or GPU.
#
# The sourcing script sets case_kind (acc or perf), script_name, and the
# defaults of batch_size, train_epochs, train_steps, learning_rate, depths,
# ks, class_num and image_num.

Network="WideResNet"
RANK_SIZE=1

code_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_path=""
ckpt_path=""
output_dir="${code_dir}/test/output"
precision_mode=""
over_dump="False"
profiling="False"
epochs_given=0

modelzoo_usage() {
  cat <<EOF
usage: bash ${script_name} --data_path=FOLDER [--name=value ...]

  --data_path        folder of CIFAR-100 training TFRecords (required)
  --ckpt_path        checkpoint prefix to fine-tune from, e.g.
                     ./model/wideresnet.ckpt; default: train from scratch
  --batch_size       images per step (default ${batch_size})
  --train_epochs     passes over the data (default ${train_epochs_help})
  --train_steps      stop after this many steps; 0 runs every epoch
                     (default ${train_steps})
  --learning_rate    constant learning rate (default ${learning_rate})
  --depths, --ks     WRN depth (6n+4) and width (default ${depths}, ${ks})
  --class_num        number of classes (default ${class_num})
  --image_num        records expected in data_path (default ${image_num})
  --output_dir       where logs go, under ASCEND_DEVICE_ID
                     (default test/output)
  --precision_mode   NPU precision mode, e.g. allow_mix_precision; passed
                     on as run_wideresnet.py --precision_mode
  --over_dump        True: collect overflow data on the NPU, passed on as
                     --over_dump and --over_dump_path (default False)
  --profiling        True: NPU profiling through PROFILING_MODE and
                     PROFILING_OPTIONS into the output folder (default False)
  -h, --help         show this help

The device is \$ASCEND_DEVICE_ID (default 0).
EOF
}

modelzoo_error() {
  echo "[Error] ${script_name}: $*" >&2
  exit 1
}

modelzoo_parse_args() {
  local para name value
  for para in "$@"; do
    case "${para}" in
      -h|--help)
        modelzoo_usage
        exit 0
        ;;
      --*=*)
        name="${para%%=*}"
        value="${para#*=}"
        ;;
      --*)
        modelzoo_error "option ${para} needs its value after '=':" \
          "${para}=VALUE (see --help)."
        ;;
      *)
        modelzoo_error "unexpected argument '${para}'; options take the" \
          "form --name=value (see --help)."
        ;;
    esac
    case "${name}" in
      --data_path) data_path="${value}" ;;
      --ckpt_path) ckpt_path="${value}" ;;
      --batch_size) batch_size="${value}" ;;
      --train_epochs) train_epochs="${value}"; epochs_given=1 ;;
      --train_steps) train_steps="${value}" ;;
      --learning_rate) learning_rate="${value}" ;;
      --depths) depths="${value}" ;;
      --ks) ks="${value}" ;;
      --class_num) class_num="${value}" ;;
      --image_num) image_num="${value}" ;;
      --output_dir) output_dir="${value}" ;;
      --precision_mode) precision_mode="${value}" ;;
      --over_dump) over_dump="${value}" ;;
      --profiling) profiling="${value}" ;;
      *) modelzoo_error "unknown option ${name}; see --help." ;;
    esac
  done
}

# Usage: modelzoo_check_count NAME VALUE MINIMUM
# Stops unless VALUE is an integer >= MINIMUM; then sets the variable NAME
# to it in plain decimal (08 becomes 8).
modelzoo_check_count() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || (( 10#$2 < $3 )); then
    modelzoo_error "--$1=$2 must be an integer >= $3."
  fi
  printf -v "$1" '%d' "$(( 10#$2 ))"
}

# Usage: modelzoo_check_switch NAME VALUE; prints True or False.
modelzoo_check_switch() {
  case "$2" in
    True|true|TRUE|1) echo "True" ;;
    False|false|FALSE|0) echo "False" ;;
    *) modelzoo_error "--$1=$2 must be True or False." ;;
  esac
}

modelzoo_check_args() {
  if [[ -z "${data_path}" ]]; then
    modelzoo_error "--data_path is required: the folder of training" \
      "TFRecords, e.g. --data_path=/data/cifar100/train."
  fi
  if [[ ! -d "${data_path}" ]]; then
    modelzoo_error "--data_path=${data_path} is not a folder; point it at" \
      "the folder of training TFRecords."
  fi
  modelzoo_check_count batch_size "${batch_size}" 1
  modelzoo_check_count train_epochs "${train_epochs}" 1
  modelzoo_check_count train_steps "${train_steps}" 0
  modelzoo_check_count depths "${depths}" 10
  modelzoo_check_count ks "${ks}" 1
  modelzoo_check_count class_num "${class_num}" 2
  modelzoo_check_count image_num "${image_num}" 1
  if ! [[ "${learning_rate}" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]]; then
    modelzoo_error "--learning_rate=${learning_rate} must be a positive" \
      "number, e.g. 0.00016."
  fi
  over_dump="$(modelzoo_check_switch over_dump "${over_dump}")" || exit 1
  profiling="$(modelzoo_check_switch profiling "${profiling}")" || exit 1
}

# Usage: modelzoo_require_flags OPTION FLAG...
# Stops unless run_wideresnet.py defines every FLAG.
modelzoo_require_flags() {
  local option="$1" flag
  shift
  if [[ -z "${run_flags_help+set}" ]]; then
    run_flags_help="$(python3 "${code_dir}/run_wideresnet.py" --helpfull \
      2>/dev/null)"
    if ! grep -q -- "--data_path:" <<< "${run_flags_help}"; then
      modelzoo_error "could not list run_wideresnet.py's flags to check" \
        "${option}: 'python3 ${code_dir}/run_wideresnet.py --helpfull'" \
        "failed; check that python3 has TensorFlow."
    fi
  fi
  for flag in "$@"; do
    if ! grep -Eq -- "--(\[no\])?${flag}:" <<< "${run_flags_help}"; then
      modelzoo_error "${option} is passed on as run_wideresnet.py" \
        "--${flag}, which this version of run_wideresnet.py does not" \
        "define; leave ${option} out."
    fi
  done
}

# Prints field NAME of every progress line of the training log, one a line.
# The lines read: Epoch 1, step 10, train loss = 4.6062, train accuracy =
# 0.00%, lr = 0.00016, 56.4 images/sec, ETA 0:00:23
modelzoo_progress_field() {
  LC_ALL=C awk -F', ' -v name="$1" '
    /^Epoch [0-9]+, step [0-9]+, train loss = / {
      for (i = 1; i <= NF; i++) {
        if (name == "images/sec" && $i ~ / images\/sec$/) {
          split($i, words, " ")
          print words[1]
        } else if (index($i, name " = ") == 1) {
          value = substr($i, length(name) + 4)
          sub(/%$/, "", value)
          print value
        }
      }
    }' "${train_log}"
}

modelzoo_main() {
  modelzoo_parse_args "$@"
  modelzoo_check_args
  if [[ "${case_kind}" == "perf" ]] && (( train_steps < 10 )); then
    modelzoo_error "--train_steps=${train_steps} is too few: training logs" \
      "its speed every 10 steps, so the performance run needs at least 10."
  fi
  if [[ "${case_kind}" == "perf" && "${epochs_given}" == 0 ]]; then
    # Enough epochs for --train_steps, so that the step count decides.
    train_epochs=$(( (train_steps * batch_size + image_num - 1) / image_num ))
    (( train_epochs >= 1 )) || train_epochs=1
  fi

  export ASCEND_DEVICE_ID="${ASCEND_DEVICE_ID:-0}"
  export RANK_SIZE
  export RANK_ID=0
  export JOB_ID="${JOB_ID:-10087}"
  device_dir="${output_dir}/${ASCEND_DEVICE_ID}"
  train_log="${device_dir}/train_${ASCEND_DEVICE_ID}.log"
  CaseName="${Network}_bs${batch_size}_${RANK_SIZE}p_${case_kind}"
  loss_file="${device_dir}/train_${CaseName}_loss.txt"
  case_log="${device_dir}/${CaseName}.log"

  local extra_flags=()
  if [[ -n "${precision_mode}" ]]; then
    modelzoo_require_flags --precision_mode precision_mode
    extra_flags+=("--precision_mode=${precision_mode}")
  fi
  if [[ "${over_dump}" == "True" ]]; then
    modelzoo_require_flags --over_dump over_dump over_dump_path
    extra_flags+=("--over_dump=True"
                  "--over_dump_path=${device_dir}/overflow_dump")
  fi

  mkdir -p "${device_dir}" || modelzoo_error "cannot create ${device_dir}."
  rm -rf "${train_log}" "${loss_file}" "${case_log}" "${device_dir}/ckpt"
  if [[ "${over_dump}" == "True" ]]; then
    mkdir -p "${device_dir}/overflow_dump"
  fi
  if [[ "${profiling}" == "True" ]]; then
    mkdir -p "${device_dir}/profiling"
    export PROFILING_MODE=true
    export PROFILING_OPTIONS="{\"output\":\"${device_dir}/profiling\",\
\"training_trace\":\"on\",\"task_trace\":\"on\",\"aicpu\":\"on\",\
\"fp_point\":\"\",\"bp_point\":\"\"}"
  fi

  echo "${script_name}: training WRN-${depths}-${ks} on ${data_path}," \
    "batch ${batch_size}, ${train_epochs} epoch(s)," \
    "max steps ${train_steps} (0: all), device ${ASCEND_DEVICE_ID};" \
    "log: ${train_log}"
  local start_time end_time status
  start_time=$(date +%s)
  python3 "${code_dir}/run_wideresnet.py" \
    --model_path="${ckpt_path:-None}" \
    --data_path="${data_path}" \
    --output_path="${device_dir}/ckpt" \
    --depths="${depths}" --ks="${ks}" --class_num="${class_num}" \
    --do_train=True \
    --image_num="${image_num}" \
    --batch_size="${batch_size}" \
    --epoch="${train_epochs}" \
    --learning_rate="${learning_rate}" \
    --max_steps="${train_steps}" \
    ${extra_flags[@]+"${extra_flags[@]}"} > "${train_log}" 2>&1
  status=$?
  end_time=$(date +%s)
  e2e_time=$(( end_time - start_time ))
  if (( status != 0 )); then
    echo "[Error] ${script_name}: run_wideresnet.py failed with exit status" \
      "${status}; the end of ${train_log}:" >&2
    tail -n 5 "${train_log}" >&2
    exit "${status}"
  fi

  modelzoo_progress_field "train loss" > "${loss_file}"
  local line_count
  line_count=$(wc -l < "${loss_file}")
  if (( line_count == 0 )); then
    modelzoo_error "${train_log} has no progress line: training logs every" \
      "10 steps, so run at least 10 (more --train_steps or records)."
  fi
  # The first window holds graph compilation; leave it out when there is
  # more than one.
  FPS=$(modelzoo_progress_field "images/sec" | LC_ALL=C awk \
    -v lines="${line_count}" \
    'NR > 1 || lines == 1 { sum += $1; n++ } END { printf "%.2f", sum / n }')
  ActualLoss=$(tail -n 1 "${loss_file}")
  train_accuracy=$(modelzoo_progress_field "train accuracy" | tail -n 1 \
    | LC_ALL=C awk '{ printf "%.4f", $1 / 100 }')
  TrainingTime=$(LC_ALL=C awk -v batch="${batch_size}" -v fps="${FPS}" \
    'BEGIN { printf "%.2f", (fps > 0 ? batch * 1000 / fps : 0) }')
  BatchSize="${batch_size}"
  DeviceType="$(uname -m)"

  echo "------------------ Final result ------------------"
  echo "Final Performance images/sec : ${FPS}"
  echo "Final Train Accuracy : ${train_accuracy}"
  echo "E2E Training Duration sec : ${e2e_time}"

  {
    echo "Network = ${Network}"
    echo "RankSize = ${RANK_SIZE}"
    echo "BatchSize = ${BatchSize}"
    echo "DeviceType = ${DeviceType}"
    echo "CaseName = ${CaseName}"
    echo "ActualFPS = ${FPS}"
    echo "TrainingTime = ${TrainingTime}"
    if [[ "${case_kind}" == "acc" ]]; then
      echo "TrainAccuracy = ${train_accuracy}"
    fi
    echo "ActualLoss = ${ActualLoss}"
    echo "E2ETrainingTime = ${e2e_time}"
  } > "${case_log}"
}
