/* SPDX-License-Identifier: Apache-2.0 */
/* The clock refd reads for every timestamp, with an offset that tests can set to move time forward. */
#ifndef RF_CLOCK_H
#define RF_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Unix time in milliseconds, plus the configured offset. */
int64_t rf_clock_now_ms(void);

/* Microseconds of the monotonic clock (not moved by the offset or by changes of the system time): for durations
 * and deadlines inside the process, never for timestamps. */
int64_t rf_clock_mono_us(void);

/* Sets the offset added to the system clock (milliseconds); 0 for real time. */
void rf_clock_set_offset_ms(int64_t offset);

/* Formats unix milliseconds as RFC 3339 UTC ("2026-11-22T07:13:10.123Z"); buf needs 25 bytes. */
void rf_clock_format(int64_t ms, char *buf, size_t len);

/* Parses RFC 3339 ("2026-11-22T07:13:10Z", fractional seconds and offsets accepted) into unix milliseconds.
 * Returns 0 on success, -1 when s is not such a time. */
int rf_clock_parse(const char *s, int64_t *ms);

/* Days from 1970-01-01 to a civil date (proleptic Gregorian), and back. */
int64_t rf_days_from_civil(int64_t y, int m, int d);
void rf_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
