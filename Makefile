# smtpscope - passive SMTP traffic analyzer.
#
#   make                 build ./smtpscope
#   make check           install missing packages, build, run every test
#   make check SANITIZE=1  the same under AddressSanitizer + UBSan
#   make demo            install missing packages, build, analyse a bundled capture
#   make install         PREFIX=/usr/local DESTDIR=
#
# Each layer builds into its own archive; unit tests link only the archive
# of the layer they test, so a layering mistake is a link error.  Objects go
# to build/ (build-san/ with SANITIZE=1) so both builds can coexist.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config
PKGS	= libpcap ncursesw libbsd-overlay libcrypto libssl

CC	?= cc
CFLAGS	?= -O2 -g
XCFLAGS	= -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wno-format-nonliteral \
	  -D_GNU_SOURCE -MMD -MP -I.
# The flags come from pkg-config when this Makefile is read.  On a fresh
# machine the packages that provide them (and pkg-config itself) are not
# there yet, so `demo` and `check` first run `deps`, then a second make that
# reads the flags anew (demo-run, check-run).  Any other target without them
# stops at once and says how to get them, instead of failing in the compiler.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
NO_DEPS_GOALS = deps demo check clean uninstall
ifeq ($(PKG_LIBS),)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
$(error pkg-config finds no $(PKGS): run 'make deps' first (or 'make demo' / 'make check', which run it))
endif
endif
LDLIBS	= $(PKG_LIBS) -lpthread

ifeq ($(SANITIZE),1)
B	= build-san
XCFLAGS	+= -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
BIN	= $(B)/smtpscope
else
B	= build
BIN	= smtpscope
endif

ALL_CFLAGS = $(XCFLAGS) $(PKG_CFLAGS) $(CFLAGS)

CAPTURE_SRC = $(wildcard capture/*.c)
DECODE_SRC  = $(wildcard decode/*.c)
UI_SRC      = $(wildcard ui/*.c)
CAPTURE_OBJ = $(CAPTURE_SRC:%.c=$(B)/%.o)
DECODE_OBJ  = $(DECODE_SRC:%.c=$(B)/%.o)
UI_OBJ      = $(UI_SRC:%.c=$(B)/%.o)
CLI_SRC     = $(wildcard cli/*.c)
MAIN_OBJ    = $(B)/smtpscope.o $(CLI_SRC:%.c=$(B)/%.o)
LIBCAPTURE  = $(B)/libcapture.a
LIBDECODE   = $(B)/libdecode.a
LIBUI       = $(B)/libui.a

# Unit tests: tests/unit/<layer>_<name>.c links the <layer>'s archive only
# (ui tests also get libdecode: the UI reads records and escapes with it).
UNIT_SRC    = $(wildcard tests/unit/*.c)
UNIT_BIN    = $(UNIT_SRC:%.c=$(B)/%)
# The fuzz targets (tests/fuzz/fuzz_NAME.c), and their replays for make check.
FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY  = $(FUZZ_TARGETS:%=$(B)/fuzz-replay/fuzz_%)

.PHONY: all check check-run check-layers unit demo demo-run deps install uninstall clean bench bench-live bench-flood bench-soak fuzz fuzz-build fuzz-run fuzz-smoke afl-run

all: $(BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCAPTURE): $(CAPTURE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBDECODE): $(DECODE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBUI): $(UI_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIBUI) $(LIBDECODE) $(LIBCAPTURE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/capture_%: $(B)/tests/unit/capture_%.o $(LIBCAPTURE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)
$(B)/tests/unit/decode_%: $(B)/tests/unit/decode_%.o $(LIBDECODE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)
$(B)/tests/unit/ui_%: $(B)/tests/unit/ui_%.o $(LIBUI) $(LIBDECODE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

unit: $(UNIT_BIN)

# Who may include whom (STYLE.md 4.3): a violation fails the build.
check-layers:
	@sh tests/check-layers.sh

check: deps
	@$(MAKE) --no-print-directory check-run
check-run: $(BIN) unit $(FUZZ_REPLAY) check-layers
	@SMTPSCOPE=$(CURDIR)/$(BIN) BUILD=$(CURDIR)/$(B) sh tests/run

# Speed and memory against a bare libpcap loop and tshark (not a test).
bench: $(BIN)
	sh tests/bench/run.sh

# Live capture's highest rate without drops, 1 to N processes in a
# --fanout group (root, tcpreplay; not a test).
bench-live: $(BIN)
	sh tests/bench/live.sh

# Peak memory against the number of flows and open sessions (not a test).
bench-flood: $(BIN)
	sh tests/bench/flood.sh

# A long live run on lo, RSS sampled (root; not a test): SOAK_TIME seconds.
SOAK_TIME ?= 1500
bench-soak: $(BIN)
	/usr/bin/python3 tests/bench/soak.py ./$(BIN) $(SOAK_TIME) 50 60

# Coverage-guided fuzzing (libFuzzer, needs clang; not part of make check):
# tests/fuzz/fuzz_NAME.c with the capture and decoder sources, all
# instrumented.  make fuzz runs every target FUZZ_TIME seconds, each into
# its corpus build/fuzz/corpus-NAME (kept between runs); make fuzz-run
# FUZZ=tls runs one; make fuzz-build only builds them.
FUZZ_CC    ?= clang
FUZZ_FLAGS  = -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	      -D_GNU_SOURCE -I. $(PKG_CFLAGS)
FUZZ_TIME  ?= 60
fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CAPTURE_SRC) $(DECODE_SRC) $(wildcard tests/fuzz/*.h capture/*.h decode/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(PKG_LIBS)
# Each target once more with our compiler and tests/fuzz/replay.c instead
# of libFuzzer: make check replays the seeds and the regression inputs.
$(B)/fuzz-replay/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(LIBDECODE) $(LIBCAPTURE)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# Every target for $(2) seconds into corpus directories build/fuzz/$(1)NAME
# (emptied first when $(3) is set), from its seeds and regression inputs;
# any crash stops with the end of its log.
define FUZZ_ALL
	@for t in $(FUZZ_TARGETS); do \
	    [ -z "$(3)" ] || rm -rf build/fuzz/$(1)$$t; mkdir -p build/fuzz/$(1)$$t && \
	    echo "fuzz: $$t, $(2) s" && \
	    build/fuzz/fuzz_$$t -max_total_time=$(2) -print_final_stats=1 \
	        -dict=tests/fuzz/fuzz.dict -artifact_prefix=build/fuzz/$$t- \
	        build/fuzz/$(1)$$t tests/fuzz/seeds/$$t \
	        $$( [ -d tests/fuzz/regress/$$t ] && echo tests/fuzz/regress/$$t ) \
	        2>build/fuzz/$(1)$$t.log || { tail -n 40 build/fuzz/$(1)$$t.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' build/fuzz/$(1)$$t.log; \
	done
endef
fuzz: fuzz-build
	$(call FUZZ_ALL,corpus-,$(FUZZ_TIME),)
# CI: every target briefly, into scratch corpora.
FUZZ_SMOKE_TIME ?= 30
fuzz-smoke: fuzz-build
	$(call FUZZ_ALL,smoke-,$(FUZZ_SMOKE_TIME),yes)
fuzz-run: fuzz-build
	@mkdir -p build/fuzz/corpus-$(or $(FUZZ),tls)
	build/fuzz/fuzz_$(or $(FUZZ),tls) -max_total_time=$(FUZZ_TIME) \
	    -dict=tests/fuzz/fuzz.dict -artifact_prefix=build/fuzz/$(or $(FUZZ),tls)- \
	    build/fuzz/corpus-$(or $(FUZZ),tls) tests/fuzz/seeds/$(or $(FUZZ),tls)

demo: deps
	@$(MAKE) --no-print-directory demo-run
demo-run: $(BIN)
	./$(BIN) -b -r pcaps/8bitmime-abort.pcap

deps:
	@sh .ci/install-deps

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/smtpscope
	install -m 0644 smtpscope.1 $(DESTDIR)$(MANDIR)/man1/smtpscope.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smtpscope $(DESTDIR)$(MANDIR)/man1/smtpscope.1

clean:
	rm -rf build build-san smtpscope

# Objects of the unit tests and fuzz replays are kept (not deleted as
# intermediates), so a rebuild sees them and their -MMD dependencies.
.SECONDARY:
-include $(shell find build build-san -name '*.d' 2>/dev/null)
