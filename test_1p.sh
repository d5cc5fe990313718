#!/usr/bin/env bash
# Evaluates the checkpoint that train_1p.sh wrote on the CIFAR-100 test
# records and prints "wideresnet eval  loss=...   acc=...".
#
# Override the paths through the environment, and any flag by appending it:
#   DATA_PATH=/data/cifar100/test MODEL_PATH=./run1/wideresnet.ckpt bash test_1p.sh
#
# With no CIFAR records (no ./test_data, no DATA_PATH, no --data_path) it
# evaluates the WRN-16-2 that train_1p.sh trained on the built-in digits
# sample (./sample_model_save) on the sample's test split instead.
set -euo pipefail
cd "$(dirname "$0")"

# The sample's network, as train_1p.sh trains it.
SAMPLE_NET=(--depths 16 --ks 2 --class_num 10)

data_path_given() {
  local arg
  for arg in "$@"; do
    case "$arg" in --data_path|--data_path=*) return 0 ;; esac
  done
  return 1
}

if [ -z "${DATA_PATH:-}" ] && [ ! -e ./test_data ] \
    && ! data_path_given "$@"; then
  echo "test_1p.sh: no CIFAR records in ./test_data, so this evaluates the" \
       "model trained on the built-in sample (scikit-learn's handwritten" \
       "digits) on its 360 test images in ./sample_data/test."
  echo "test_1p.sh: for CIFAR-100, download cifar-100-python.tar.gz, run" \
       "python3 prepare_cifar.py --source cifar-100-python.tar.gz" \
       "--train_dir ./train_data --test_dir ./test_data, then bash" \
       "train_1p.sh and this script."
  if [ -z "${MODEL_PATH:-}" ] && [ ! -d ./sample_model_save ]; then
    echo "test_1p.sh: no model trained on the sample in" \
         "./sample_model_save; run bash train_1p.sh first." >&2
    exit 1
  fi
  python3 digits_sample.py \
    --train_dir ./sample_data/train --test_dir ./sample_data/test
  python3 run_wideresnet.py \
    --model_path "${MODEL_PATH:-./sample_model_save/wideresnet.ckpt}" \
    --data_path ./sample_data/test \
    "${SAMPLE_NET[@]}" \
    --image_num 360 \
    --batch_size 100 \
    "$@"
  exit 0
fi

DATA_PATH=${DATA_PATH:-./test_data}
MODEL_PATH=${MODEL_PATH:-./model_save/wideresnet.ckpt}

if [ ! -d "$DATA_PATH" ]; then
  echo "test_1p.sh: no test records at $DATA_PATH; put the CIFAR-100" \
       "TFRecords there or set DATA_PATH (see README.md)." >&2
  exit 1
fi

python3 run_wideresnet.py \
  --model_path "$MODEL_PATH" \
  --data_path "$DATA_PATH" \
  --depths 28 --ks 10 \
  --image_num 10000 \
  --batch_size 100 \
  "$@"
