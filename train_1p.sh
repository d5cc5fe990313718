#!/usr/bin/env bash
# Trains WRN-28-10 on CIFAR-100 on one device with the original port's
# documented settings. Fine-tunes from MODEL_PATH when that checkpoint
# exists, otherwise trains from scratch (the original's model_path=None).
#
# Override the paths through the environment, and any flag by appending it:
#   DATA_PATH=/data/cifar100/train OUTPUT_PATH=./run1 bash train_1p.sh --epoch 2
set -euo pipefail
cd "$(dirname "$0")"

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
