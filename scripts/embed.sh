#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Turns a file into a C source defining `const char NAME[]` (NUL-terminated) and `NAME_len`.
set -eu
name="$1"
file="$2"
echo "/* Generated from $file by scripts/embed.sh; do not edit. */"
echo "const char ${name}[] = {"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
echo "	0x00};"
echo "const unsigned long ${name}_len = sizeof ${name} - 1;"
