// SPDX-License-Identifier: GPL-2.0
#include "kselftest_harness.h"
TEST_HARNESS_MAIN
