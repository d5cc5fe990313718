#!/usr/bin/env bash
# Trains WRN-28-10 on CIFAR-100 on the 8 NPUs of an Ascend 910 server, data
# parallel through HCCL, with the original's per-device settings (batch 32
# per NPU, 256 in all; the learning rate follows --lr_scaling, linear by
# default).
#
#   bash train_8p.sh                            # one server, ./8p.json
#   RANK_TABLE_FILE=/path/hccl.json bash train_8p.sh --epoch 20
#
# Several servers: give every server the same RANK_TABLE_FILE listing all
# of them, RANK_SIZE as the total device count, and RANK_ID_START as the
# first rank of this server (0, 8, 16, ...); run the script on each.
#
# One process per device: ASCEND_DEVICE_ID is the NPU, RANK_ID the rank.
# Rank 0 writes the checkpoints, summaries and metrics into OUTPUT_PATH;
# each rank's log goes to $LOG_DIR/train_<rank>.log. SIGINT or SIGTERM
# reaches every process, and they stop together after the same step.
set -uo pipefail
cd "$(dirname "$0")"

export RANK_TABLE_FILE=${RANK_TABLE_FILE:-$(pwd)/8p.json}
export RANK_SIZE=${RANK_SIZE:-8}
export JOB_ID=${JOB_ID:-10087}
RANK_ID_START=${RANK_ID_START:-0}
DEVICES_HERE=${DEVICES_HERE:-8}
DATA_PATH=${DATA_PATH:-./train_data}
MODEL_PATH=${MODEL_PATH:-./model/wideresnet.ckpt}
OUTPUT_PATH=${OUTPUT_PATH:-./model_save_8p}
LOG_DIR=${LOG_DIR:-./log_8p}

if [ ! -f "$RANK_TABLE_FILE" ]; then
  echo "train_8p.sh: no rank table at $RANK_TABLE_FILE; write one for this" \
       "server (see 8p.json) or set RANK_TABLE_FILE." >&2
  exit 1
fi
if [ ! -d "$DATA_PATH" ]; then
  echo "train_8p.sh: no training records at $DATA_PATH; set DATA_PATH" \
       "(see README.md)." >&2
  exit 1
fi
if [ "$MODEL_PATH" != "None" ] && [ ! -e "$MODEL_PATH.index" ]; then
  echo "train_8p.sh: no checkpoint at $MODEL_PATH; training from scratch."
  MODEL_PATH=None
fi
mkdir -p "$LOG_DIR"

source ./worker_processes.sh

for ((device = 0; device < DEVICES_HERE; device++)); do
  export ASCEND_DEVICE_ID=$device
  export DEVICE_ID=$device
  export RANK_ID=$((RANK_ID_START + device))
  start_worker python3 run_wideresnet.py \
    --model_path "$MODEL_PATH" \
    --data_path "$DATA_PATH" \
    --output_path "$OUTPUT_PATH" \
    --depths 28 --ks 10 \
    --do_train True \
    --image_num 50000 \
    --batch_size 32 \
    --epoch 10 \
    --learning_rate 0.00016 \
    "$@" > "$LOG_DIR/train_$RANK_ID.log" 2>&1
done
echo "train_8p.sh: ranks $RANK_ID_START-$((RANK_ID_START + DEVICES_HERE - 1))" \
     "of $RANK_SIZE started; logs in $LOG_DIR."

wait_for_workers
