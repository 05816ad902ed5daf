/* SPDX-License-Identifier: Apache-2.0 */
/* Synthetic data for benchmarks: many partners with realistic names and emails. */
#ifndef RF_BENCHDATA_H
#define RF_BENCHDATA_H

#include "../store/store.h"

/* Adds n partners to a new program "Bench program" in one transaction; seed makes the data repeatable.
 * Writes the program id to program_id (at least 40 bytes). */
rf_status rf_benchdata_partners(rf_store *s, long n, unsigned seed, char *program_id, size_t len, rf_err *err);

#endif
