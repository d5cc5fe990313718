# Shared by train_8p.sh and train_multiworker.sh, which source it: keeps the
# PIDs of the training processes they start, passes SIGINT and SIGTERM on
# to all of them (they then stop together after the same step), and waits
# for every one.
#
#   start_worker python3 run_wideresnet.py ...   # in the background
#   wait_for_workers                             # exits with the worst code

worker_pids=()

start_worker() {
  "$@" &
  worker_pids+=($!)
}

stop_workers() {
  kill -TERM "${worker_pids[@]}" 2>/dev/null
}
trap stop_workers INT TERM

wait_for_workers() {
  local status=0 pid code
  for pid in "${worker_pids[@]}"; do
    wait "$pid"
    code=$?
    # A wait cut short by a trapped signal: wait for the process itself.
    while kill -0 "$pid" 2>/dev/null; do
      wait "$pid"
      code=$?
    done
    [ "$code" -gt "$status" ] && status=$code
  done
  exit "$status"
}
