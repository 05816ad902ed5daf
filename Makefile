# SPDX-License-Identifier: Apache-2.0
# Builds refd, its tests and its checks. `make` builds build/refd; `make run` and `make test` also install
# what is missing (scripts/bootstrap.sh).

CC ?= cc
PKGS := libevent libevent_pthreads jansson sqlite3 libsodium libpq libcurl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -Isrc $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lhttp_parser -lpthread

B ?= build
SRC := $(wildcard src/core/*.c src/store/*.c src/store/db/*.c src/http/*.c src/track/*.c src/jobs/*.c src/api/*.c \
	src/svc/*.c src/cli/*.c src/integrations/*.c)
MIGRATIONS := $(sort $(wildcard src/store/migrations/*.sql))
PG_MIGRATIONS := $(sort $(wildcard src/store/migrations/postgres/*.sql))
GEN := $(B)/gen/migrations.c $(B)/gen/openapi.c $(B)/gen/web.c
OBJ := $(patsubst src/%.c,$(B)/obj/%.o,$(SRC)) $(B)/obj/gen/migrations.o $(B)/obj/gen/openapi.o $(B)/obj/gen/web.o
# The web UI: its own files, and the pinned npm packages it uses (charts, QR codes), embedded in the binary.
WEB_FILES := $(sort $(wildcard src/web/*.html src/web/*.js src/web/*.css src/web/*.svg))
LIB := $(B)/librefd.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all run test bootstrap unit store-conformance check-format format cppcheck clean asan bench-data fuzz fuzz-run

all: $(B)/refd

$(B)/gen/migrations.c: $(MIGRATIONS) $(PG_MIGRATIONS) scripts/embed_migrations.sh scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed_migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/gen/openapi.c: src/api/openapi.json scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh rf_openapi_json src/api/openapi.json > $@.tmp && mv $@.tmp $@

# npm ci installs exactly what package-lock.json pins (no install scripts), once: a stamp stands for the packages.
# scripts/npm_packages.sh installs under a lock (the test suites use it too) and skips what is already current.
NPM_STAMP := node_modules/.refd-lock.sha256
$(NPM_STAMP): package-lock.json
	sh scripts/npm_packages.sh
	touch $@

$(B)/gen/web.c: $(WEB_FILES) $(NPM_STAMP) scripts/embed_web.sh
	@mkdir -p $(dir $@)
	sh scripts/embed_web.sh $(foreach f,$(WEB_FILES),$(notdir $(f))=$(f)) \
		vendor/uplot.mjs=node_modules/uplot/dist/uPlot.esm.js vendor/uplot.css=node_modules/uplot/dist/uPlot.min.css \
		vendor/qrcode.mjs=node_modules/qrcode-generator/dist/qrcode.mjs > $@.tmp && mv $@.tmp $@

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJ)
	rm -f $@
	# Quick append: objects of different folders may share a name (api/leads.o, svc/leads.o), which a
	# replacing insert would lose.
	ar qcs $@ $(OBJ)

$(B)/refd: $(B)/obj/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $$(pkg-config --cflags cmocka) -o $@ $< $(LIB) $(LDLIBS) $$(pkg-config --libs cmocka)

unit: $(UNIT_BIN)

# The store conformance suite on SQLite and on PostgreSQL: a throwaway cluster (tests/pgcluster.py) unless
# REFD_TEST_PG_URL names a server. The other unit tests run as they are: build/tests/test_*.
store-conformance: $(B)/tests/test_store_conformance
	sh tests/store_conformance.sh $(B)/tests/test_store_conformance

bootstrap:
	sh scripts/bootstrap.sh

# Installs what is missing, builds, migrates and serves with demo data on http://127.0.0.1:8080.
run: bootstrap
	$(MAKE) all
	./$(B)/refd migrate --db "$${REFD_DB:-./refd.db}"
	./$(B)/refd serve

# Installs what is missing, builds and runs every test suite (plain and ASan+UBSan) and the checks.
test:
	sh scripts/bootstrap.sh --test
	sh tests/run_all.sh

asan:
	$(MAKE) B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all unit

check-format:
	clang-format --dry-run --Werror $(shell find src tests bench -name '*.c' -o -name '*.h' | grep -v '/gen/')

format:
	clang-format -i $(shell find src tests bench -name '*.c' -o -name '*.h' | grep -v '/gen/')

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Isrc src

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(B)/obj/main.d

# libFuzzer targets over the pure rules in src/core (clang, with ASan and UBSan). `make fuzz` builds them;
# FUZZ_SECONDS bounds each run in `make fuzz-run` (tests/run_all.sh runs them briefly).
FUZZ_SECONDS ?= 10
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
CORE_SRC := $(wildcard src/core/*.c)

$(B)/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(CORE_SRC) $$(pkg-config --cflags --libs libsodium jansson)

fuzz: $(FUZZ_TARGETS)

fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
		name=$$(basename $$t | sed 's/^fuzz_//'); \
		mkdir -p $(B)/fuzz/corpus-$$name; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus-$$name tests/fuzz/corpus/$$name \
			>$(B)/fuzz/$$name.log 2>&1 || { tail -40 $(B)/fuzz/$$name.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(B)/fuzz/$$name.log | sed "s/^/$$name: /"; \
	done
