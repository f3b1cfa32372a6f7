#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make demo` shows inside the VM.
set -e
echo "== kernel $(uname -r)"
echo "== lsmod | grep msgmux"
lsmod | grep msgmux
echo "== dmesg | grep msgmux:"
dmesg | grep msgmux:
echo "== family (from sysfs): $(msgmuxctl family)"
echo "== msgmux-hello"
msgmux-hello
