/* SPDX-License-Identifier: BSD-3-Clause */
#include "counters.h"

const char *const mr_drop_name[MR_DROP_MAX] = {
#define MR_X_NAME(e, n, h) [MR_DROP_##e] = n,
	MR_DROP_REASONS(MR_X_NAME)
#undef MR_X_NAME
};

const char *const mr_drop_help[MR_DROP_MAX] = {
#define MR_X_HELP(e, n, h) [MR_DROP_##e] = h,
	MR_DROP_REASONS(MR_X_HELP)
#undef MR_X_HELP
};
