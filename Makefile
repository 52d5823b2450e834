# trailkeep: one Makefile.  `make help` lists the targets.
#   make DEVELOPER=1                  warnings are errors
#   make SANITIZE=address,undefined   sanitizer build (objects go to build/san-*)
#   make V=1                          show the commands
PREFIX  ?= /usr/local
DESTDIR ?=
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
# deploy/systemd: the unit and timer (ExecStart gets PREFIX/bin), the sysusers.d user
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
PYTHON  ?= /usr/bin/python3
CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=

PKGS      = libcurl openssl jansson inih expat zlib
TEST_PKGS = cmocka

WARN = -std=c11 -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wwrite-strings -Wcast-qual -Wundef -fno-common \
       -Wno-unused-parameter
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
# TEST_KNOBS=1 (default): the build honours the test settings TRAILKEEP_NOW,
# TRAILKEEP_SEED, TRAILKEEP_BACKOFF_SCALE, TRAILKEEP_DOCTOR_SELECT (make test,
# demo and bench run this build); `make release` (TEST_KNOBS=0, what
# `make install` installs) refuses to run when one is set
TEST_KNOBS ?= 1
ifeq ($(TEST_KNOBS),1)
KNOBFLAGS = -DTK_TEST_KNOBS
else
KNOBFLAGS =
endif

ifneq ($(SANITIZE),)
SANFLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
BUILD ?= build/san-$(subst $(comma),-,$(SANITIZE))
else
SANFLAGS =
BUILD ?= build/default
endif
comma := ,

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# src/ is grouped by layer (docs/architecture.md); headers are included by name
SRC_DIRS := core transport services integrity config checks apply
ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) $(KNOBFLAGS) $(PKG_CFLAGS) -D_DEFAULT_SOURCE -Isrc $(addprefix -Isrc/,$(SRC_DIRS) cmd) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS = $(PKG_LIBS) -lm -lpthread

ifeq ($(V),1)
Q =
QP = @:
else
Q = @
QP = @printf '  %-6s %s\n'
endif

LIB_SRC  := $(foreach d,$(SRC_DIRS),$(wildcard src/$(d)/*.c))
CMD_SRC  := $(wildcard src/cmd/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/main.o
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# shared helpers (tests/unit/*.c that are not test_*.c), linked into every unit test
TEST_UTIL_OBJ := $(patsubst tests/unit/%.c,$(BUILD)/tests/%.o,$(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c)))
# test objects stay (not rebuilt and removed on every build)
.SECONDARY: $(TEST_UTIL_OBJ) $(TEST_BIN:%=%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIBTK    := $(BUILD)/libtrailkeep.a
BIN      := $(BUILD)/trailkeep

.PHONY: all help test check demo lint policies install uninstall clean bench deps \
        tools fuzz fuzz-bins matrix release
all: trailkeep

help:
	@echo "targets: all test demo lint policies install clean bench deps fuzz matrix"

# the top-level ./trailkeep always points at the build of the last `make`
# (SANITIZE=... or not)
trailkeep: $(BIN) FORCE
	$(Q)ln -sf $(BIN) trailkeep

$(BUILD)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(QP) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBTK): $(LIB_OBJ)
	$(QP) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIBTK)
	$(QP) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIBTK) $(LIBS)

$(BUILD)/tests/%.o: tests/unit/%.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(QP) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UTIL_OBJ) $(LIBTK)
	$(QP) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_UTIL_OBJ) $(LIBTK) $(TEST_LIBS) $(LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIBTK) $(BUILD)/flags
	@mkdir -p $(@D)
	$(QP) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -DFUZZ_REPLAY -o $@ $< tests/fuzz/replay_main.c $(LIBTK) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(LIBTK) $(BUILD)/flags
	@mkdir -p $(@D)
	$(QP) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBTK) $(LIBS)

tools: trailkeep $(BUILD)/trailkeep.1 $(TEST_BIN) $(FUZZ_BIN)

# the man page, from the same text as --help (src/cmd/man.c)
$(BUILD)/trailkeep.1: $(BIN)
	$(QP) MAN $@
	$(Q)$(BIN) help --man > $@.tmp && mv $@.tmp $@

# make fuzz: each tests/fuzz harness under libFuzzer (clang,
# -fsanitize=fuzzer,address,undefined) for FUZZ_TIME seconds; the working
# corpus grows in $(FUZZ_BUILD)/lf-corpus/, findings (crash, leak, timeout,
# oom inputs) go to tests/fuzz/corpus/NAME/ (which `make test` replays).
# Not part of `make test`.  make fuzz FUZZ_TIME=600
FUZZ_TIME  ?= 60
FUZZ_CC    ?= /usr/bin/clang
FUZZ_BUILD ?= build/libfuzzer
LF_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/lf/%)
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) \
	  SANITIZE=fuzzer-no-link,address,undefined fuzz-bins
	$(Q)BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) sh tests/fuzz/run.sh
fuzz-bins: $(LF_BIN)
$(BUILD)/lf/%: tests/fuzz/%.c $(LIBTK) $(BUILD)/flags
	@mkdir -p $(@D)
	$(QP) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBTK) $(LIBS)

# Dependencies: installs missing Debian packages when root, else prints the command.
deps:
	$(Q)PYTHON=$(PYTHON) sh scripts/deps.sh

# make test: every unit test, CLI case, fuzz corpus replay and integration test
# against the local fake AWS; ends with "N passed, N failed".
test check: deps
	$(Q)$(MAKE) --no-print-directory tools
	$(Q)BUILD=$(BUILD) PYTHON=$(PYTHON) sh tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory trailkeep
	$(Q)BUILD=$(BUILD) PYTHON=$(PYTHON) sh scripts/demo.sh

# make matrix SEED=N COUNT=M [ONLY=break,...] [MODE=organization|per-account] [FORCE='{json}']
#   [FAILCLOSED=403,500]:
# the generated scenario matrix (tests/integration/matrix.py; `make test` runs its fixed sample)
matrix: deps
	$(Q)$(MAKE) --no-print-directory trailkeep
	$(Q)BUILD=$(BUILD) TOP=$(CURDIR) $(PYTHON) tests/integration/matrix.py --seed $(or $(SEED),1) \
	  --count $(or $(COUNT),1) $(if $(ONLY),--only $(ONLY)) $(if $(MODE),--mode $(MODE)) \
	  $(if $(FORCE),--force '$(FORCE)') $(if $(FAILCLOSED),--fail-closed $(FAILCLOSED))

bench: deps
	$(Q)$(MAKE) --no-print-directory tools $(BENCH_BIN)
	$(Q)BUILD=$(BUILD) PYTHON=$(PYTHON) sh bench/run.sh

# policies/ holds what `plan` renders from each file in examples/
policies: trailkeep
	$(Q)sh scripts/policies.sh $(BIN)

lint:
	$(Q)if grep -nE '\b(strcpy|strcat|strncpy|sprintf|vsprintf|strtok|atoi|gmtime|localtime|mktemp)\(' \
	    $(LIB_SRC) $(CMD_SRC) src/main.c | grep -v 'banned.h'; then \
	    echo "lint: banned function used (see src/core/banned.h)"; exit 1; fi
	$(Q)for f in $(LIB_SRC) $(CMD_SRC) src/main.c; do \
	    grep -q '"banned.h"' $$f || { echo "lint: $$f does not include banned.h"; exit 1; }; done
	$(Q)if grep -nE '\b(printf|fprintf|puts|fputs|exit)\(' $(LIB_SRC) | grep -v 'src/core/buf.c'; then \
	    echo "lint: library code (src/*/*.c but src/cmd) must not print or exit"; exit 1; fi
	@echo "lint: ok"

# make install [DESTDIR=/tmp/stage] [PREFIX=/usr]: the binary, its templates
# (found as ../share/trailkeep/templates next to it), the man page, bash and
# zsh completion, deploy/ and the docs (README "Install, man page, completion")
# the release build: no test settings (TEST_KNOBS=0), in its own directory
RELEASE_BUILD ?= build/release
INSTALL_BIN ?= $(RELEASE_BUILD)/trailkeep
release:
	$(Q)$(MAKE) --no-print-directory BUILD=$(RELEASE_BUILD) TEST_KNOBS=0 $(RELEASE_BUILD)/trailkeep

install: $(if $(filter $(RELEASE_BUILD)/trailkeep,$(INSTALL_BIN)),release) $(BUILD)/trailkeep.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/trailkeep/templates \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	  $(DESTDIR)$(PREFIX)/share/doc/trailkeep
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/trailkeep
	install -m 644 templates/*.json $(DESTDIR)$(PREFIX)/share/trailkeep/templates/
	install -d $(DESTDIR)$(PREFIX)/share/trailkeep/templates/athena
	install -m 644 templates/athena/*.sql $(DESTDIR)$(PREFIX)/share/trailkeep/templates/athena/
	install -m 644 $(BUILD)/trailkeep.1 $(DESTDIR)$(MANDIR)/man1/trailkeep.1
	install -m 644 completion/trailkeep.bash $(DESTDIR)$(BASHCOMPDIR)/trailkeep
	install -m 644 completion/_trailkeep $(DESTDIR)$(ZSHCOMPDIR)/_trailkeep
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/trailkeep/README.md
	cp -R docs $(DESTDIR)$(PREFIX)/share/doc/trailkeep/
	if [ -d deploy ]; then cp -R deploy $(DESTDIR)$(PREFIX)/share/trailkeep/; fi
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' deploy/systemd/trailkeep-verify.service > $(DESTDIR)$(SYSTEMDUNITDIR)/trailkeep-verify.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/trailkeep-verify.service
	install -m 644 deploy/systemd/trailkeep-verify.timer $(DESTDIR)$(SYSTEMDUNITDIR)/trailkeep-verify.timer
	install -m 644 deploy/systemd/trailkeep.sysusers $(DESTDIR)$(SYSUSERSDIR)/trailkeep.conf

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/trailkeep $(DESTDIR)$(MANDIR)/man1/trailkeep.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/trailkeep $(DESTDIR)$(ZSHCOMPDIR)/_trailkeep \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/trailkeep-verify.service $(DESTDIR)$(SYSTEMDUNITDIR)/trailkeep-verify.timer \
	  $(DESTDIR)$(SYSUSERSDIR)/trailkeep.conf
	rm -rf $(DESTDIR)$(PREFIX)/share/trailkeep $(DESTDIR)$(PREFIX)/share/doc/trailkeep

clean:
	rm -rf build trailkeep

-include $(shell find build -name '*.d' 2>/dev/null)
