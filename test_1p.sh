#!/usr/bin/env bash
# Evaluates the checkpoint that train_1p.sh wrote on the CIFAR-100 test
# records and prints "wideresnet eval  loss=...   acc=...".
#
# Override the paths through the environment, and any flag by appending it:
#   DATA_PATH=/data/cifar100/test MODEL_PATH=./run1/wideresnet.ckpt bash test_1p.sh
set -euo pipefail
cd "$(dirname "$0")"

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
