#!/usr/bin/env bash
# Ascend ModelZoo accuracy run: the original port's documented training of
# WRN-28-10 on CIFAR-100 (10 epochs, batch 32, learning rate 0.00016) on one
# device, then the ModelZoo summary (images/sec, accuracy, loss, duration)
# on stdout and in test/output/${ASCEND_DEVICE_ID}/WideResNet_bs32_1p_acc.log.
#
#   bash test/train_full_1p.sh --data_path=/data/cifar100/train \
#       --ckpt_path=./model/wideresnet.ckpt
#
# --ckpt_path fine-tunes a pre-trained checkpoint, as the original did;
# without it the network trains from scratch. Runs from any folder, on an
# Ascend NPU or on the CPU/GPU; --help lists the options.

case_kind="acc"
script_name="train_full_1p.sh"

batch_size=32
train_steps=0
train_epochs=10
train_epochs_help="${train_epochs}"
learning_rate=0.00016
depths=28
ks=10
class_num=100
image_num=50000

source "$(dirname "${BASH_SOURCE[0]}")/modelzoo_1p_common.sh" || exit 1
modelzoo_main "$@"
