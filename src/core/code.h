/* SPDX-License-Identifier: Apache-2.0 */
/* Referral codes: random ones refd makes up, the rules for codes a person chooses, and partners' recruitment
 * codes. */
#ifndef RF_CODE_H
#define RF_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* Length of a generated code; the alphabet has 31 characters, so a code carries about 39.6 bits. */
#define RF_CODE_GENERATED_LEN 8

/* Shortest and longest code a person may choose. */
#define RF_CODE_MIN 3
#define RF_CODE_MAX 64

/* Writes a new random code of RF_CODE_GENERATED_LEN characters from "23456789abcdefghjkmnpqrstuvwxyz" (no
 * look-alikes 0/1/i/l/o) into the caller's out, using libsodium, which the caller has initialised (rf_secret_init);
 * a generated code always passes rf_code_check.
 * out needs RF_CODE_GENERATED_LEN + 1 bytes; a smaller out gets "" (nothing when len is 0). */
void rf_code_generate(char *out, size_t len);

/* Checks a code chosen by a person: RF_CODE_MIN..RF_CODE_MAX characters of [A-Za-z0-9_-], neither starting nor
 * ending with '-' or '_', and not a reserved word such as "admin" or "api", nor anything starting with "refd"
 * (letter case ignored). RF_EINVAL with field "code" and a message naming the rule broken; owns nothing. */
rf_status rf_code_check(const char *code, rf_err *err);

/* Writes the lower-cased form of code, used for case-insensitive uniqueness and lookup, into the caller's out.
 * out needs strlen(code) + 1 bytes (RF_CODE_MAX + 1 for any valid code); when it is too small, or code is NULL,
 * out gets "" rather than a truncated code that could match another one. */
void rf_code_fold(const char *code, char *out, size_t len);

/* Length of a partner's recruitment code, from the same alphabet: about 59 bits, so that codes cannot be guessed
 * to find partners (a sign-up is also rate-limited per address). */
#define RF_RECRUIT_CODE_LEN 12

/* Writes a new random recruitment code of RF_RECRUIT_CODE_LEN characters from "23456789abcdefghjkmnpqrstuvwxyz"
 * into the caller's out, using libsodium (initialised by the caller). out needs RF_RECRUIT_CODE_LEN + 1 bytes; a
 * smaller out gets "" (nothing when len is 0). */
void rf_recruit_code_generate(char *out, size_t len);

/* Reads a recruitment code as a person or a link gives it: surrounding spaces are dropped and letter case is
 * ignored. Writes the stored form into the caller's out (RF_RECRUIT_CODE_LEN + 1 bytes) and returns true when
 * in can be a code (the right length, only characters of the alphabet); otherwise returns false and out gets "". */
bool rf_recruit_code_normalize(const char *in, char *out, size_t len);

#endif
