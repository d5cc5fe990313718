#!/usr/bin/env bash
# Ascend ModelZoo performance run: WRN-28-10 on CIFAR-100 for a short, fixed
# number of steps on one device, then the ModelZoo summary (images/sec,
# loss, duration) on stdout and in test/output/${ASCEND_DEVICE_ID}/
# WideResNet_bs32_1p_perf.log.
#
#   bash test/train_performance_1p.sh --data_path=/data/cifar100/train
#
# Runs from any folder, on an Ascend NPU or on the CPU/GPU; --help lists the
# options, e.g. --batch_size=64 --train_steps=200.

case_kind="perf"
script_name="train_performance_1p.sh"

batch_size=32
train_steps=100
# Unless given, as many as --train_steps needs over --image_num records.
train_epochs=1
train_epochs_help="enough for --train_steps"
learning_rate=0.00016
depths=28
ks=10
class_num=100
image_num=50000

source "$(dirname "${BASH_SOURCE[0]}")/modelzoo_1p_common.sh" || exit 1
modelzoo_main "$@"
