#!/usr/bin/env bash
# Trains WRN-28-10 on CIFAR-100 on one device with the original port's
# documented settings. Fine-tunes from MODEL_PATH when that checkpoint
# exists, otherwise trains from scratch (the original's model_path=None).
#
# Override the paths through the environment, and any flag by appending it:
#   DATA_PATH=/data/cifar100/train OUTPUT_PATH=./run1 bash train_1p.sh --epoch 2
#
# With no CIFAR records (no ./train_data, no DATA_PATH, no --data_path) it
# trains a small WRN-16-2 on the built-in sample of handwritten digits
# instead (digits_sample.py writes it to ./sample_data, the model goes to
# ./sample_model_save), so the train-then-test flow runs out of the box.
# Make the CIFAR-100 records with prepare_cifar.py (see README.md).
set -euo pipefail
cd "$(dirname "$0")"

# The sample's settings; test_1p.sh evaluates with the same network flags.
SAMPLE_NET=(--depths 16 --ks 2 --class_num 10)
SAMPLE_TRAIN=(--augmentation none --image_num 1437 --batch_size 32
              --epoch 12 --learning_rate 0.05 --lr_schedule cosine)

data_path_given() {
  local arg
  for arg in "$@"; do
    case "$arg" in --data_path|--data_path=*) return 0 ;; esac
  done
  return 1
}

if [ -z "${DATA_PATH:-}" ] && [ ! -e ./train_data ] \
    && ! data_path_given "$@"; then
  OUTPUT_PATH=${OUTPUT_PATH:-./sample_model_save}
  echo "train_1p.sh: no CIFAR records in ./train_data, so this trains a" \
       "WRN-16-2 on the built-in sample (scikit-learn's handwritten digits," \
       "./sample_data/train) into $OUTPUT_PATH."
  echo "train_1p.sh: for CIFAR-100, download cifar-100-python.tar.gz and run" \
       "python3 prepare_cifar.py --source cifar-100-python.tar.gz" \
       "--train_dir ./train_data --test_dir ./test_data; this script then" \
       "trains WRN-28-10 on it."
  python3 digits_sample.py \
    --train_dir ./sample_data/train --test_dir ./sample_data/test
  python3 run_wideresnet.py \
    --model_path "${MODEL_PATH:-None}" \
    --data_path ./sample_data/train \
    --output_path "$OUTPUT_PATH" \
    "${SAMPLE_NET[@]}" \
    --do_train True \
    "${SAMPLE_TRAIN[@]}" \
    "$@"
  echo "train_1p.sh: trained on the digits sample; evaluate with" \
       "bash test_1p.sh."
  exit 0
fi

DATA_PATH=${DATA_PATH:-./train_data}
MODEL_PATH=${MODEL_PATH:-./model/wideresnet.ckpt}
OUTPUT_PATH=${OUTPUT_PATH:-./model_save}

if [ ! -d "$DATA_PATH" ]; then
  echo "train_1p.sh: no training records at $DATA_PATH; put the CIFAR-100" \
       "TFRecords there or set DATA_PATH (see README.md)." >&2
  exit 1
fi

if [ "$MODEL_PATH" != "None" ] && [ ! -e "$MODEL_PATH.index" ]; then
  echo "train_1p.sh: no checkpoint at $MODEL_PATH; training from scratch."
  MODEL_PATH=None
fi

python3 run_wideresnet.py \
  --model_path "$MODEL_PATH" \
  --data_path "$DATA_PATH" \
  --output_path "$OUTPUT_PATH" \
  --depths 28 --ks 10 \
  --do_train True \
  --image_num 50000 \
  --batch_size 32 \
  --epoch 10 \
  --learning_rate 0.00016 \
  "$@"
