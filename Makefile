# frugal - build, test, demo and benchmarks. `make help` lists the targets.
CC ?= cc
BUILD ?= build
PKGS := sqlite3 libutf8proc gumbo libxml-2.0 libzip md4c zlib libcjson libcrypto libcurl libmicrohttpd
OPT ?= -O2
SAN ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) -g -fPIC $(WARN) \
             -Iinclude -Isrc $(PKG_CFLAGS) $(SAN) $(CFLAGS)
LIBS_ALL = $(PKG_LIBS) -lstemmer -lm -lpthread $(SAN) $(LDFLAGS)

LIB_SRC := $(wildcard src/*.c src/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(wildcard app/cli/*.c app/server/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
# The web UI (web/) is compiled into the binary: scripts/embed-web turns the files into a table.
WEB_FILES := $(sort $(wildcard web/*.html web/*.js web/*.css))
WEB_OBJ := $(BUILD)/gen/web_assets.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

ifeq ($(BUILD),build)
BIN_DIR := bin
LIB_DIR := lib
else
BIN_DIR := $(BUILD)/bin
LIB_DIR := $(BUILD)/lib
endif

.PHONY: all print-libs setup setup-bench test test-unit test-cli test-api test-browser test-asan fuzz fuzz-smoke demo bench-bm25 bench-bm25-scale bench-chunking bench-ann bench-embed bench-glove bench-squad bench-hybrid bench-scarcity bench-server clean help \
        check-symbols format

all: $(LIB_DIR)/libfrugal.a $(LIB_DIR)/libfrugal.so $(BIN_DIR)/frugal frugal.pc

# The link line for programs built on lib/libfrugal.a (bench/*.sh use it for their drivers).
print-libs:
	@echo $(LIBS_ALL)

help:
	@echo "make            build bin/frugal, lib/libfrugal.{a,so}, frugal.pc"
	@echo "make setup      install the Debian packages frugal needs (scripts/setup)"
	@echo "make demo       set up, build, ingest the PostgreSQL 15 manual, run example searches"
	@echo "make test       set up, build, run unit, CLI, symbol and fuzz-smoke tests"
	@echo "make test-api   the HTTP server's black-box tests over loopback (tests/api/run.sh)"
	@echo "make test-browser  the web UI's end-to-end tests in headless Chromium (tests/browser)"
	@echo "make test-asan  the unit, CLI and API tests under ASan + UBSan"
	@echo "make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60) each"
	@echo "make bench-bm25 SciFact and Cranfield: frugal vs Xapian, written to BENCHMARKS.md"
	@echo "make bench-bm25-scale  1M passages: frugal vs Xapian vs FTS5 speed, build, size (~25 min)"
	@echo "make bench-chunking  BM25 quality by chunk size, written to BENCHMARKS.md"
	@echo "make bench-glove     GloVe sentence vectors: SciFact nDCG@10 per weighting, written to BENCHMARKS.md"
	@echo "make bench-hybrid    hybrid vs BM25 vs dense (GloVe) nDCG@10 on SciFact, written to BENCHMARKS.md"
	@echo "make bench-squad     extractive answers on SQuAD v1.1 dev (support, CPU share, context), written to BENCHMARKS.md"
	@echo "make bench-scarcity  router vs always-generate against a 2-slot loopback generator, written to BENCHMARKS.md"
	@echo "make bench-server    wrk against frugal serve (/v1/search, /v1/ask) on SciFact + RSS soak (BENCH_SOAK_SECONDS, default 300), written to BENCHMARKS.md"

setup:
	@bash scripts/setup

setup-bench:
	@bash scripts/setup --bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Kernels for a wider instruction set live in *_avx2.c files, compiled with that target and
# called only after a run-time check (__builtin_cpu_supports); the rest stays baseline x86-64.
$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -mavx2 -mfma -mf16c -MMD -MP -c $< -o $@

$(LIB_DIR)/libfrugal.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LIB_DIR)/libfrugal.so: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libfrugal.so.0 -Wl,--version-script=src/frugal.map -o $@ $^ $(LIBS_ALL)

$(BUILD)/gen/web_assets.c: $(WEB_FILES) scripts/embed-web
	@mkdir -p $(dir $@)
	bash scripts/embed-web $@ $(WEB_FILES)

$(WEB_OBJ): $(BUILD)/gen/web_assets.c app/server/server.h
	$(CC) $(CFLAGS_ALL) -Iapp/server -c $< -o $@

$(BIN_DIR)/frugal: $(CLI_OBJ) $(WEB_OBJ) $(LIB_DIR)/libfrugal.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(CLI_OBJ) $(WEB_OBJ) $(LIB_DIR)/libfrugal.a $(LIBS_ALL)

frugal.pc: frugal.pc.in Makefile
	sed -e 's|@PREFIX@|$(or $(PREFIX),/usr/local)|' -e 's|@VERSION@|0.1.0|' \
	    -e 's|@REQUIRES@|$(PKGS)|' $< > $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_DIR)/libfrugal.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIB_DIR)/libfrugal.a $(LIBS_ALL) \
	    $(shell pkg-config --libs cmocka)

# test_bm25 runs twice: once with the default MaxScore traversal, once with block-max WAND, so that
# both stay exact.
test-unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	    echo "== $$t"; FRUGAL_TEST_DATA=tests/data $$t || fail=1; done; \
	    echo "== $(BUILD)/tests/test_bm25 (FRUGAL_BM25_WAND=1)"; \
	    FRUGAL_BM25_WAND=1 FRUGAL_TEST_DATA=tests/data $(BUILD)/tests/test_bm25 || fail=1; exit $$fail

test-cli: $(BIN_DIR)/frugal
	@FRUGAL_BIN=$(abspath $(BIN_DIR)/frugal) bash tests/cli/run.sh

# Also runs the stock `openai` npm client (pinned in tests/browser/package-lock.json) against
# the test server: tests/browser/openai.mjs.
test-api: $(BIN_DIR)/frugal
	@npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@FRUGAL_BIN=$(abspath $(BIN_DIR)/frugal) OPENAI_TEST=$(abspath tests/browser/openai.mjs) \
	    bash tests/api/run.sh

# Debian's chromium driven by playwright-core (pinned in tests/browser/package-lock.json; it never
# downloads a browser). Screenshots go to build/browser/.
test-browser: $(BIN_DIR)/frugal
	@npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@FRUGAL_BIN=$(abspath $(BIN_DIR)/frugal) SCREENSHOT_DIR=$(abspath build/browser) \
	    node tests/browser/e2e.mjs

check-symbols: $(LIB_DIR)/libfrugal.a
	@bash scripts/check-symbols $(LIB_DIR)/libfrugal.a

test: setup
	$(MAKE) all
	$(MAKE) test-unit
	$(MAKE) test-cli
	$(MAKE) test-api
	$(MAKE) test-browser
	$(MAKE) check-symbols
	$(MAKE) fuzz-smoke
	$(MAKE) test-asan

test-asan:
	$(MAKE) BUILD=build-asan CC=clang OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    test-unit test-cli test-api

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
build-fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_extract.h $(LIB_SRC)
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 SAN="-fsanitize=fuzzer-no-link,address,undefined" \
	    build-fuzz/lib/libfrugal.a
	clang $(CFLAGS_ALL) -Itests/fuzz -fsanitize=fuzzer,address,undefined -o $@ $< build-fuzz/lib/libfrugal.a \
	    $(PKG_LIBS) -lstemmer -lm -lpthread

# Each target for FUZZ_SMOKE_SECONDS (default 10) on its seeds plus what earlier runs found;
# a crash, leak or failed invariant fails the target with libFuzzer's report.
fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	    echo "== $$n"; if ! $$f -max_total_time=$${FUZZ_SMOKE_SECONDS:-10} -rss_limit_mb=2048 \
	    build-fuzz/corpus/$$n tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; then \
	    tail -n 40 build-fuzz/$$n.log; echo "fuzz-smoke: $$n failed"; exit 1; fi; \
	    tail -n 1 build-fuzz/$$n.log; done

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	    $$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

demo: setup
	$(MAKE) all
	bash scripts/demo

bench-bm25: setup-bench
	$(MAKE) all
	bash bench/bm25.sh

bench-bm25-scale: setup-bench
	$(MAKE) all
	bash bench/bm25_scale.sh

bench-chunking: setup-bench
	$(MAKE) all
	bash bench/chunking.sh

bench-ann: setup-bench
	$(MAKE) all
	bash bench/ann.sh

bench-embed: setup-bench
	$(MAKE) all
	bash bench/embed.sh

bench-glove: setup-bench
	bash scripts/setup --glove
	$(MAKE) all
	bash bench/glove.sh

bench-scarcity:
	$(MAKE) all
	bash bench/scarcity.sh

bench-server: setup-bench
	$(MAKE) all
	bash bench/server.sh

bench-squad: setup-bench
	bash scripts/setup --glove
	$(MAKE) all
	bash bench/squad.sh

bench-hybrid: setup-bench
	bash scripts/setup --glove
	$(MAKE) all
	bash bench/hybrid.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) include/*.h src/*/*.h

clean:
	rm -rf build build-asan build-fuzz bin lib frugal.pc

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
