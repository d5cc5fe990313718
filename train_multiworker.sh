#!/usr/bin/env bash
# Trains with N worker processes on this machine, through TensorFlow's
# distributed runtime (collective all-reduce), and waits for all of them.
#
#   bash train_multiworker.sh 2 --data_path ./train_data \
#     --output_path ./model_save --do_train True --batch_size 16
#
# Each worker gets TF_CONFIG with every worker's localhost port and its own
# index; the flags are the same for all, and --batch_size is per worker.
# Rank 0 prints to this terminal and writes all files; the others log to
# worker-<rank>.log in $WORKER_LOG_DIR (default: a new temporary folder).
# SIGINT or SIGTERM reaches every worker, and they stop together after the
# same step, rank 0 saving. For several machines, start run_wideresnet.py on
# each with a TF_CONFIG that lists all of them (see README.md).
set -uo pipefail
cd "$(dirname "$0")"

if [ "$#" -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash train_multiworker.sh WORKERS [run_wideresnet.py flags]" >&2
  exit 2
fi
workers=$1
shift
log_dir=${WORKER_LOG_DIR:-$(mktemp -d -t wideresnet-workers.XXXXXX)}
mkdir -p "$log_dir"

# Free localhost ports, one per worker.
ports=$(python3 -c '
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
  s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
' "$workers")
hosts=$(printf '"localhost:%s",' $ports)
hosts="[${hosts%,}]"

source ./worker_processes.sh

for ((rank = 0; rank < workers; rank++)); do
  TF_CONFIG=$(printf '{"cluster": {"worker": %s}, "task": %s}' "$hosts" \
    "{\"type\": \"worker\", \"index\": $rank}")
  export TF_CONFIG
  if [ "$rank" -eq 0 ]; then
    start_worker python3 run_wideresnet.py "$@"
  else
    start_worker python3 run_wideresnet.py "$@" > "$log_dir/worker-$rank.log" \
      2>&1
  fi
done
echo "train_multiworker.sh: $workers workers on ports $ports; logs of" \
     "ranks 1-$((workers - 1)) in $log_dir" >&2

wait_for_workers
