# SPDX-License-Identifier: GPL-2.0
#
# msgmux: build the module and userspace, and test them in QEMU.
#
#   make            module (for KDIR) and userspace
#   make demo       boot the 6.1 VM, load msgmux, show a socket in /proc
#   make bench      msgmux-bench in the VM (KERNEL=6.1 by default, one
#                   kernel): build/<kver>/bench.{txt,csv,json}
#   make check      the kselftests in QEMU on 6.1 and 6.12 (KERNEL=6.1 for one)
#   make check-debug  the kselftests on a debug 6.12 kernel (KASAN, lockdep,
#                   kmemleak...), built from linux-source and cached
#   make deps       install what the above need (as root), from Debian
#   make checkpatch / sparse / kdoc / clean

KERNEL ?= 6.1 6.12
CACHE ?= /var/cache/msgmux
KVER ?= $(shell cat $(CACHE)/kernels/6.1.abi 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build
KSRC := $(BUILD)/ksrc

# The first kernel named, for one-kernel targets (demo, sparse).
KERNEL1 := $(firstword $(KERNEL))

all: module user

module: deps-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

user: ksrc
	$(MAKE) -C user
	$(MAKE) -C selftests/msgmux

deps:
	scripts/deps.sh $(KERNEL)

# Installs what is missing when run as root; says what is missing otherwise.
deps-check:
	@scripts/deps.sh $(KERNEL) > /dev/null

ksrc: deps-check
	scripts/ksrc.sh

check: deps-check user
	scripts/check.sh check $(KERNEL)

demo: deps-check user
	scripts/check.sh demo $(KERNEL1)

# BENCH_ARGS="--quick", "--cases=tput/64/*" ...: see msgmux-bench --help.
bench: deps-check user
	BENCH_ARGS="$(BENCH_ARGS)" BENCH_TRACE="$(BENCH_TRACE)" BENCH_PERF="$(BENCH_PERF)" scripts/check.sh bench $(KERNEL1)

check-debug: deps-check user
	scripts/debug-kernel.sh
	scripts/check.sh check debug

checkpatch: ksrc
	scripts/checkpatch.sh

sparse: deps-check
	@for k in $(KERNEL); do \
		kv=$$(cat $(CACHE)/kernels/$$k.abi) && \
		scripts/build-module.sh $$kv C=2 CF="-D__CHECK_ENDIAN__" || exit 1; \
		if grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' $(BUILD)/$$kv/build.log; then \
			echo "sparse: findings on $$k"; exit 1; fi; \
		echo "sparse: clean on $$k"; \
	done

kdoc: ksrc
	$(KSRC)/scripts/kernel-doc -none -Wall -Werror kmod/*.c kmod/*.h \
		include/uapi/linux/msgmux.h 2>&1 | tee $(BUILD)/kdoc.log
	@! grep -q . $(BUILD)/kdoc.log

clean:
	rm -rf $(BUILD)
	rm -f kmod/*.o kmod/*.ko kmod/*.mod* kmod/.*.cmd kmod/modules.order \
		.*.cmd Module.symvers modules.order

.PHONY: all module user deps deps-check ksrc check check-debug demo bench \
	checkpatch sparse kdoc clean
