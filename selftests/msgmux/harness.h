/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness, with a per-test timeout for emulation: under
 * QEMU's TCG, and many times slower again on the debug kernel (KASAN,
 * lockdep) beside other VMs, a healthy test can take longer than the
 * harness's 30 s.  The timeout only catches hangs; nothing is timed.
 */
#ifndef _MSGMUX_SELFTEST_HARNESS_H
#define _MSGMUX_SELFTEST_HARNESS_H

#include "kselftest_harness.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	120

#endif
