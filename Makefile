# SPDX-License-Identifier: MIT
# danesmtp - build, test, install.
#
#   make               library (build/libdanesmtp.so.1) and the danesmtp tool
#   make check         install missing build/test packages (as root), build,
#                      run every test, then the suites again under ASan+UBSan
#   make demo          a small PKI, its TLSA records, verdicts a person reads
#   make bench         verification figures, ours against OpenSSL's DANE API
#   make install       DESTDIR, PREFIX, LIBDIR, BINDIR, LIBEXECDIR, INCLUDEDIR, MANDIR
#   make abi-check     exported symbols == the functions declared in the header

VERSION_MAJOR := $(shell sed -n 's/^\#define DANESMTP_VERSION_MAJOR \([0-9]*\)/\1/p' include/danesmtp.h)
VERSION       := $(shell sed -n 's/^\#define DANESMTP_VERSION_STRING "\(.*\)"/\1/p' include/danesmtp.h)
SONAME        := libdanesmtp.so.$(VERSION_MAJOR)

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATADIR    ?= $(PREFIX)/share/danesmtp
DOCDIR     ?= $(PREFIX)/share/doc/danesmtp
DESTDIR    ?=

CXX      ?= g++
CC       ?= gcc
CXXFLAGS ?= -O2 -g
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
CPPFLAGS += -Iinclude -Iplugin -Itests
LIBS      = -lunbound -lldns -llmdb -lssl -lcrypto -pthread

B        := build
SAN      := build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_SRC := $(wildcard plugin/core/*.cpp) $(wildcard plugin/tls/*.cpp) $(wildcard plugin/dns/*.cpp) $(wildcard plugin/check/*.cpp)
CAPI_SRC := $(wildcard plugin/capi/*.cpp) $(wildcard plugin/exim/*.cpp)
CLI_SRC  := $(wildcard plugin/cli/*.cpp)
OSD_SRC  := $(wildcard plugin/opensmtpd/*.cpp)
TEST_SRC := $(wildcard tests/unit/*.cpp) tests/oracle/openssl_dane.cpp plugin/opensmtpd/protocol.cpp plugin/opensmtpd/decide.cpp
BENCH_SRC:= bench/bench.cpp tests/oracle/openssl_dane.cpp

obj = $(patsubst %.cpp,$(1)/obj/%.o,$(2))

LIB       := $(B)/libdanesmtp.so.$(VERSION)
CLI       := $(B)/danesmtp
UNIT      := $(B)/unit-tests
CAPI_TEST := $(B)/capi-test
PKI       := $(B)/pki
TSAN      := build/tsan
DAEMON    := $(B)/danesmtpd
CLIENT    := $(B)/danesmtp-exim-client.so
OSD       := $(B)/danesmtp-opensmtpd

.PHONY: opensmtpd-test soak tsan-test fuzz all check test deps demo bench install uninstall abi-check clean asan-test lab-test install-test exim-test deb deb-test
.DELETE_ON_ERROR:

all: $(LIB) $(CLI) $(DAEMON) $(CLIENT) $(OSD)

# ---- objects: $(B)/obj for the normal build, $(SAN)/obj under sanitizers
$(B)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden $(WARN) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(SAN)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -fPIC -fvisibility=hidden $(WARN) $(CPPFLAGS) -O1 -g $(SANFLAGS) -MMD -MP -c $< -o $@

# ThreadSanitizer objects, compiled once for the four TSan programs.
$(TSAN)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -g -fsanitize=thread $(CPPFLAGS) -MMD -MP -c $< -o $@

-include $(shell find build -name '*.d' -type f 2>/dev/null)

# Exim's local_scan.h (exim4-dev), for the one test that checks our entry
# points against Exim's own types and codes.
$(B)/obj/tests/unit/test_exim.o $(SAN)/obj/tests/unit/test_exim.o: CPPFLAGS += -I/usr/include/exim4

# ---- the library: SONAME from the header's major version, hidden symbols,
# a version script, and no undefined symbols left for the host to supply.
$(LIB): $(call obj,$(B),$(CORE_SRC) $(CAPI_SRC)) plugin/danesmtp.map
	$(CXX) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=plugin/danesmtp.map \
	  -Wl,--no-undefined -Wl,-z,relro -Wl,-z,now $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)
	ln -sf $(notdir $@) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libdanesmtp.so

# The tool in the build tree finds the library next to it (RUNPATH $ORIGIN),
# so `make && ./build/danesmtp check DOMAIN` works as it is; the one `make
# install` copies is linked again without any RUNPATH (Debian policy 10.2).
$(CLI): $(call obj,$(B),$(CLI_SRC)) $(LIB)
	$(CXX) $(LDFLAGS) -Wl,-rpath,'$$ORIGIN' -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp -lssl -lcrypto

$(B)/install/danesmtp: $(call obj,$(B),$(CLI_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp -lssl -lcrypto

# The service mode for Exim (issue 11): danesmtpd serves the Exim entry
# points over a Unix socket, and Exim loads only the C client, which needs
# nothing but libc. log_write is exported from danesmtpd: the entry points
# find it with dlsym(RTLD_DEFAULT) as they find Exim's.
$(DAEMON): $(call obj,$(B),plugin/daemon/danesmtpd.cpp) $(LIB)
	$(CXX) $(LDFLAGS) -pthread -Wl,-rpath,'$$ORIGIN' -Wl,--export-dynamic-symbol=log_write -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp

$(B)/install/danesmtpd: $(call obj,$(B),plugin/daemon/danesmtpd.cpp) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -pthread -Wl,--export-dynamic-symbol=log_write -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp

# The OpenSMTPD filter (issue 10): the library's C interface and the tool's
# option parsing (plugin/cli/common.cpp), nothing else of ours.
$(OSD): $(call obj,$(B),$(OSD_SRC) plugin/cli/common.cpp) $(LIB)
	$(CXX) $(LDFLAGS) -pthread -Wl,-rpath,'$$ORIGIN' -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp

$(B)/install/danesmtp-opensmtpd: $(call obj,$(B),$(OSD_SRC) plugin/cli/common.cpp) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -pthread -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp

# The filter again under ThreadSanitizer and under ASan+UBSan, for the
# protocol test (its lookups run on worker threads).
$(TSAN)/danesmtp-opensmtpd: $(call obj,$(TSAN),$(OSD_SRC) plugin/cli/common.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) -fsanitize=thread -pthread -o $@ $^ $(LIBS)

$(SAN)/danesmtp-opensmtpd: $(call obj,$(SAN),$(OSD_SRC) plugin/cli/common.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) $(SANFLAGS) -pthread -o $@ $^ $(LIBS)

$(CLIENT): plugin/exim/client.c
	$(CC) -std=c11 -shared -fPIC -fvisibility=hidden -pthread -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion \
	  $(CFLAGS) -Wl,--no-undefined -Wl,-z,relro -Wl,-z,now -Wl,-z,nodelete $(LDFLAGS) -o $@ $<

# ---- tests
deps:
	@sh tests/install-deps.sh

$(UNIT): $(call obj,$(B),$(TEST_SRC) $(CORE_SRC) $(CAPI_SRC))
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ -lboost_unit_test_framework $(LIBS)

$(SAN)/unit-tests: $(call obj,$(SAN),$(TEST_SRC) $(CORE_SRC) $(CAPI_SRC))
	$(CXX) $(SANFLAGS) -pthread -o $@ $^ -lboost_unit_test_framework $(LIBS)

$(CAPI_TEST): tests/capi_test.c include/danesmtp.h $(LIB)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Wstrict-prototypes -Werror -Iinclude $(CFLAGS) \
	  -o $@ tests/capi_test.c -L$(B) -ldanesmtp

$(SAN)/capi-test: tests/capi_test.c include/danesmtp.h $(call obj,$(SAN),$(CORE_SRC) $(CAPI_SRC))
	$(CC) -std=c99 -Iinclude -O1 -g $(SANFLAGS) -c tests/capi_test.c -o $(SAN)/capi_test.o
	$(CXX) $(SANFLAGS) -o $@ $(SAN)/capi_test.o $(call obj,$(SAN),$(CORE_SRC) $(CAPI_SRC)) $(LIBS)

LAB       := $(B)/lab
$(B)/lab-tests: $(call obj,$(B),tests/lab/test_lab.cpp plugin/tls/probe.cpp plugin/tls/openssl.cpp) $(LIB)
	$(CXX) $(LDFLAGS) -pthread -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp -lboost_unit_test_framework -lldns -lssl -lcrypto

# The lab: NSD with signed zones and STARTTLS servers on 127.0.1.x, up for
# the run and down afterwards whatever the result (tests/lab/lab.sh). The lab
# suite runs under valgrind: it is the one that drives libunbound for real.
# The threaded and forking lab tests run again under ThreadSanitizer (the
# resolver shared by many threads, tests/lab/test_lab.cpp).
TSAN_LAB_TESTS := lab/threads_proceed_independently_and_fork_meanwhile,one_context_many_threads,fork_while_the_resolver_starts,resolver_process_death_sigpipe_default
build/tsan/lab-tests: $(call obj,$(TSAN),tests/lab/test_lab.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) -fsanitize=thread -pthread -o $@ $^ -lboost_unit_test_framework $(LIBS)

lab-test: $(B)/lab-tests $(CLI) $(PKI)/.done build/tsan/lab-tests
	bash tests/lab/lab.sh up $(LAB) $(PKI)
	DANESMTP_REQUIRE_RESOLVER=$$([ "$$(id -u)" = 0 ] && echo 1 || echo 0) DANESMTP_LAB=$(LAB) LD_LIBRARY_PATH=$(B) valgrind -q --error-exitcode=9 --child-silent-after-fork=yes \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect ./$(B)/lab-tests --report_level=short \
	  && DANESMTP_LAB=$(LAB) TSAN_OPTIONS=halt_on_error=1 ./build/tsan/lab-tests --run_test=$(TSAN_LAB_TESTS) --report_level=short \
	  && LD_LIBRARY_PATH=$(B) sh tests/lab/cli_lab_test.sh $(CLI) $(LAB) \
	  && LD_LIBRARY_PATH=$(B) bash tests/lab/rollover_test.sh $(CLI) $(LAB); \
	  rc=$$?; bash tests/lab/lab.sh down $(LAB); exit $$rc

# The real exim4 (Debian's exim4-daemon-heavy) delivering through the plugin.
# danesmtpd built with ThreadSanitizer, for tests/service_stress.py.
$(TSAN)/danesmtpd: $(call obj,$(TSAN),plugin/daemon/danesmtpd.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) -fsanitize=thread -pthread -Wl,--export-dynamic-symbol=log_write -o $@ $^ $(LIBS)

exim-test: $(LIB) $(DAEMON) $(CLIENT) $(TSAN)/danesmtpd $(PKI)/.done
	python3 tests/service_test.py $(B)
	bash tests/lab/lab.sh up $(LAB) $(PKI)
	python3 tests/service_stress.py $(TSAN)/danesmtpd $(B) $(LAB) \
	  && bash tests/exim/exim_test.sh $(B) $(LAB) && bash tests/exim/rollover_exim_test.sh $(B) $(LAB); \
	  rc=$$?; bash tests/lab/lab.sh down $(LAB); exit $$rc

# The real smtpd of Debian's opensmtpd package (unpacked, not installed: it
# conflicts with exim4) with the filter, against a lab of its own whose SMTP
# servers listen on port 25, where smtpd delivers (issue 10). Root only: port
# 25, a private mount namespace for smtpd's compiled-in paths, its users.
OSD_ROOT := $(B)/opensmtpd
opensmtpd-test: $(LIB) $(OSD) $(TSAN)/danesmtp-opensmtpd $(SAN)/danesmtp-opensmtpd $(PKI)/.done
	@if [ "$$(id -u)" != 0 ]; then echo "opensmtpd-test: SKIPPED: needs root (port 25, a mount namespace, smtpd's users)"; exit 0; fi; \
	sh tests/opensmtpd/get-smtpd.sh $(OSD_ROOT) || exit 1; \
	LAB_SMTP_PORT=25 bash tests/lab/lab.sh up $(B)/osd-lab $(PKI) || exit 1; \
	python3 tests/opensmtpd/protocol_test.py $(B) $(B)/osd-lab \
	  && TSAN_OPTIONS=halt_on_error=1 python3 tests/opensmtpd/protocol_test.py $(B) $(B)/osd-lab $(TSAN)/danesmtp-opensmtpd \
	  && ASAN_OPTIONS=detect_leaks=0 python3 tests/opensmtpd/protocol_test.py $(B) $(B)/osd-lab $(SAN)/danesmtp-opensmtpd \
	  && bash tests/opensmtpd/opensmtpd_test.sh $(B) $(B)/osd-lab $(OSD_ROOT); \
	  rc=$$?; bash tests/lab/lab.sh down $(B)/osd-lab; exit $$rc

# Soak: the real exim4 delivering SOAK_MESSAGES (default 1000) messages to
# the lab while faults are injected (tests/soak/soak.sh); not in make check.
soak: $(LIB) $(PKI)/.done
	bash tests/lab/lab.sh up $(B)/soak-lab $(PKI)
	bash tests/soak/soak.sh $(B) $(B)/soak-lab; rc=$$?; bash tests/lab/lab.sh down $(B)/soak-lab; exit $$rc

# Fuzzing: one libFuzzer target per parser, tests/fuzz/fuzz_<name>.cpp.
# `make fuzz` builds $(B)/fuzz-<name> with clang and runs each for
# FUZZ_SECONDS, or for FUZZ_RUNS executions when set (make fuzz
# FUZZ_RUNS=10000000), on tests/fuzz/corpus/<name>, $(B)/fuzz-seeds/<name>
# and what it found before in $(B)/fuzz-corpus/<name>; FUZZ_TARGETS picks
# some. make check replays every corpus under ASan+UBSan with g++: one binary
# with every target in it, each registered by name (-DFUZZ_REPLAY).
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_NAMES   := $(filter-out replay,$(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(SAN)/obj/tests/fuzz/%.o: CPPFLAGS += -DFUZZ_REPLAY
$(SAN)/fuzz-replay: $(call obj,$(SAN),$(FUZZ_NAMES:%=tests/fuzz/fuzz_%.cpp) tests/fuzz/fuzz_replay.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) $(SANFLAGS) -pthread -o $@ $^ $(LIBS)

$(B)/fuzz-build/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	clang++ -std=c++17 -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_NAMES:%=$(B)/fuzz-%): $(B)/fuzz-%: $(call obj,$(B)/fuzz-build,tests/fuzz/fuzz_%.cpp $(CORE_SRC) $(CAPI_SRC))
	clang++ -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz-%) $(B)/fuzz-seeds/.done
	sh tests/fuzz/run.sh $(B) "$(FUZZ_SECONDS)" "$(FUZZ_RUNS)" $(FUZZ_TARGETS)

$(PKI)/.done: tests/pki/make-pki.sh
	bash tests/pki/make-pki.sh $(PKI)
	touch $@

test: $(LIB) $(CLI) $(UNIT) $(CAPI_TEST) $(PKI)/.done
	DANESMTP_PKI=$(PKI) ./$(UNIT) --log_level=test_suite --report_level=short
	DANESMTP_PKI=$(PKI) LD_LIBRARY_PATH=$(B) ./$(CAPI_TEST)
	DANESMTP_PKI=$(PKI) LD_LIBRARY_PATH=$(B) sh tests/cli_test.sh $(CLI)
	DANESMTP_PKI=$(PKI) LD_LIBRARY_PATH=$(B) valgrind -q --error-exitcode=1 --child-silent-after-fork=yes --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect ./$(CAPI_TEST)
	$(MAKE) --no-print-directory abi-check
	$(MAKE) --no-print-directory install-test
	$(MAKE) --no-print-directory deb-test
	$(MAKE) --no-print-directory lab-test
	$(MAKE) --no-print-directory exim-test
	$(MAKE) --no-print-directory opensmtpd-test

# ThreadSanitizer on the threads suite: one context, one record set and the
# decoded-certificate cache shared by four threads (the header's rules).
$(TSAN)/threads: $(call obj,$(TSAN),tests/unit/main.cpp tests/unit/fixture.cpp tests/unit/test_threads.cpp $(CORE_SRC) $(CAPI_SRC))
	$(CXX) -fsanitize=thread -pthread -o $@ $^ -lboost_unit_test_framework $(LIBS)

tsan-test: $(TSAN)/threads $(PKI)/.done
	DANESMTP_PKI=$(PKI) TSAN_OPTIONS=halt_on_error=1 ./$(TSAN)/threads --run_test=threads --report_level=short

# Seeds made from the generated PKI at test time (no key or certificate is
# committed), one directory per target: $(B)/fuzz-seeds/<name>/.
$(B)/fuzz-seeds/.done: $(PKI)/.done tests/fuzz/make-seeds.sh
	sh tests/fuzz/make-seeds.sh $(PKI) $(B)/fuzz-seeds
	touch $@

asan-test: $(SAN)/unit-tests $(SAN)/capi-test $(SAN)/fuzz-replay $(B)/fuzz-seeds/.done
	./$(SAN)/fuzz-replay --require-all tests/fuzz/corpus $(B)/fuzz-seeds
	DANESMTP_PKI=$(PKI) ASAN_OPTIONS=detect_leaks=1 ./$(SAN)/unit-tests --report_level=short
	DANESMTP_PKI=$(PKI) ASAN_OPTIONS=detect_leaks=1 ./$(SAN)/capi-test

check: deps
	$(MAKE) --no-print-directory -j$$(nproc) $(LIB) $(CLI) $(UNIT) $(CAPI_TEST) $(B)/lab-tests \
	  $(SAN)/unit-tests $(SAN)/capi-test $(SAN)/fuzz-replay $(TSAN)/threads build/tsan/lab-tests \
	  $(DAEMON) $(CLIENT) $(TSAN)/danesmtpd $(OSD) $(TSAN)/danesmtp-opensmtpd $(SAN)/danesmtp-opensmtpd
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory asan-test
	$(MAKE) --no-print-directory tsan-test
	@echo "make check: all tests passed"

# ---- ABI: what the .so exports must be exactly what the header declares.
abi-check: $(LIB)
	@nm -D --defined-only $(LIB) | awk '$$2 == "T" { sub(/@.*/, "", $$3); print $$3 }' | sort > $(B)/abi.exported
	@sed -n 's/^DANESMTP_API [^(]*[ *]\(danesmtp_[a-z0-9_]*\)(.*/\1/p' include/danesmtp.h include/danesmtp_exim.h | sort > $(B)/abi.declared
	@if diff -u $(B)/abi.declared $(B)/abi.exported; then \
	  echo "abi-check: $$(wc -l < $(B)/abi.exported) exported symbols match include/danesmtp.h"; \
	else echo "abi-check: exported symbols differ from include/danesmtp.h" >&2; exit 1; fi
	@if nm -D --defined-only $(LIB) | grep -v ' danesmtp_' | grep -v ' DANESMTP_1\.[0-9]*$$' | grep ' [TDBRW] ' ; then \
	  echo "abi-check: symbols outside danesmtp_ are exported" >&2; exit 1; fi

# ---- demo and benchmark
demo: deps
	$(MAKE) --no-print-directory $(LIB) $(CLI) $(PKI)/.done
	sh tests/demo.sh $(B)

$(B)/bench: $(call obj,$(B),$(BENCH_SRC) $(CORE_SRC) $(CAPI_SRC))
	$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS) -ldl

$(B)/bench-dns: $(call obj,$(B),bench/bench_dns.cpp) $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) -L$(B) -ldanesmtp

$(B)/cputime: bench/cputime.c
	$(CC) -O2 -Wall -Wextra -o $@ $<

bench: $(B)/bench $(B)/bench-dns $(B)/cputime $(LIB) $(CLI) $(DAEMON) $(CLIENT) $(PKI)/.done
	DANESMTP_PKI=$(PKI) ./$(B)/bench $(B)/$(SONAME)
	bash tests/lab/lab.sh up $(LAB) $(PKI)
	DANESMTP_LAB=$(LAB) LD_LIBRARY_PATH=$(B) ./$(B)/bench-dns && bash bench/exim_bench.sh $(B) $(LAB) && \
	  bash bench/check_bench.sh $(B) $(LAB); \
	  rc=$$?; bash tests/lab/lab.sh down $(LAB); exit $$rc

# ---- install
install: $(LIB) $(CLI) $(B)/install/danesmtp $(B)/install/danesmtpd $(B)/install/danesmtp-opensmtpd $(CLIENT)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(SBINDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(LIBDIR)/danesmtp $(DESTDIR)$(LIBEXECDIR)/danesmtp
	install -m 0755 $(B)/install/danesmtp-opensmtpd $(DESTDIR)$(LIBEXECDIR)/danesmtp/danesmtp-opensmtpd
	install -m 0644 man/danesmtp-opensmtpd.8 $(DESTDIR)$(MANDIR)/man8/danesmtp-opensmtpd.8
	install -m 0755 $(B)/install/danesmtpd $(DESTDIR)$(SBINDIR)/danesmtpd
	install -m 0644 $(CLIENT) $(DESTDIR)$(LIBDIR)/danesmtp/danesmtp-exim-client.so
	install -m 0644 man/danesmtpd.8 $(DESTDIR)$(MANDIR)/man8/danesmtpd.8
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libdanesmtp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdanesmtp.so
	install -m 0755 $(B)/install/danesmtp $(DESTDIR)$(BINDIR)/danesmtp
	install -m 0644 include/danesmtp.h include/danesmtp_exim.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 man/danesmtp.1 $(DESTDIR)$(MANDIR)/man1/danesmtp.1
	install -m 0644 man/danesmtp.conf.5 $(DESTDIR)$(MANDIR)/man5/danesmtp.conf.5
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
	  danesmtp.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/danesmtp.pc
	# The snippets name the library where this install puts it.
	for d in main router transport acl; do install -d $(DESTDIR)$(DATADIR)/exim-config/conf.d/$$d; \
	  for f in exim-config/conf.d/$$d/*; do \
	    sed -e 's|/usr/lib/x86_64-linux-gnu/libdanesmtp.so.1|$(LIBDIR)/libdanesmtp.so.1|' \
	        -e 's|/usr/lib/x86_64-linux-gnu/danesmtp/|$(LIBDIR)/danesmtp/|' $$f \
	      > $(DESTDIR)$(DATADIR)/exim-config/conf.d/$$d/$${f##*/}; \
	    chmod 0644 $(DESTDIR)$(DATADIR)/exim-config/conf.d/$$d/$${f##*/}; done; done
	install -m 0644 exim-config/exim4.conf.standalone $(DESTDIR)$(DATADIR)/exim-config/
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 exim-config/README.md $(DESTDIR)$(DOCDIR)/README.exim.md
	install -m 0644 opensmtpd-config/README.md $(DESTDIR)$(DOCDIR)/README.opensmtpd.md
	install -d $(DESTDIR)$(DATADIR)/opensmtpd-config
	sed -e 's|/usr/libexec/danesmtp/|$(LIBEXECDIR)/danesmtp/|' opensmtpd-config/smtpd.conf.example \
	  > $(DESTDIR)$(DATADIR)/opensmtpd-config/smtpd.conf.example
	chmod 0644 $(DESTDIR)$(DATADIR)/opensmtpd-config/smtpd.conf.example
	install -m 0644 danesmtp.conf.example $(DESTDIR)$(DATADIR)/danesmtp.conf.example

# What a packager does: stage an install, then build a C program against it
# with pkg-config only, and run it against the staged library.
install-test: $(LIB) $(CLI) $(DAEMON) $(CLIENT) $(PKI)/.done
	rm -rf $(B)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(B)/stage PREFIX=/usr >/dev/null
	test -L $(B)/stage/usr/lib/$(SONAME) && test -L $(B)/stage/usr/lib/libdanesmtp.so
	$(CC) -std=c99 -o $(B)/stage-capi-test tests/capi_test.c $$(PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(B)/stage \
	  PKG_CONFIG_PATH=$(B)/stage/usr/lib/pkgconfig PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 \
	  PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 pkg-config --cflags --libs danesmtp)
	DANESMTP_PKI=$(PKI) LD_LIBRARY_PATH=$(B)/stage/usr/lib ./$(B)/stage-capi-test
	LD_LIBRARY_PATH=$(B)/stage/usr/lib $(B)/stage/usr/bin/danesmtp --version
	! readelf -d $(B)/stage/usr/bin/danesmtp | grep -Eq 'RPATH|RUNPATH'
	LD_LIBRARY_PATH=$(B)/stage/usr/lib $(B)/stage/usr/sbin/danesmtpd --version
	! readelf -d $(B)/stage/usr/sbin/danesmtpd | grep -Eq 'RPATH|RUNPATH'
	LD_LIBRARY_PATH=$(B)/stage/usr/lib $(B)/stage/usr/libexec/danesmtp/danesmtp-opensmtpd --version
	! readelf -d $(B)/stage/usr/libexec/danesmtp/danesmtp-opensmtpd | grep -Eq 'RPATH|RUNPATH'
	! readelf -d $(B)/stage/usr/lib/danesmtp/danesmtp-exim-client.so | grep -q 'NEEDED.*\[lib[^c]'
	grep -q '$(B)/stage/usr/lib/danesmtp/\|/usr/lib/danesmtp/danesmtp-exim-client.so' \
	  $(B)/stage/usr/share/danesmtp/exim-config/conf.d/main/05_danesmtp-macros
	env -u LD_LIBRARY_PATH ./$(CLI) --version
	@echo "install-test: staged install builds and runs (no RUNPATH); the build-tree tool runs without LD_LIBRARY_PATH"

# Debian packages from debian/, built from a copy of the tree in build/deb
# (dpkg-buildpackage writes next to the source directory), then checked:
# file placement, SONAME, the symbols file, and the tool starting against the
# packaged library.
deb:
	rm -rf $(B)/deb && mkdir -p $(B)/deb/danesmtp-$(VERSION)
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(B)/deb/danesmtp-$(VERSION) -xf -
	cd $(B)/deb/danesmtp-$(VERSION) && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
	  { tail -40 ../build.log; exit 1; }
	@ls $(B)/deb/*.deb

deb-test: deb
	sh tests/deb_test.sh $(B)/deb $(VERSION)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libdanesmtp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libdanesmtp.so $(DESTDIR)$(BINDIR)/danesmtp \
	  $(DESTDIR)$(INCLUDEDIR)/danesmtp.h $(DESTDIR)$(INCLUDEDIR)/danesmtp_exim.h $(DESTDIR)$(PKGCONFIGDIR)/danesmtp.pc \
	  $(DESTDIR)$(MANDIR)/man1/danesmtp.1 $(DESTDIR)$(MANDIR)/man5/danesmtp.conf.5 \
	  $(DESTDIR)$(SBINDIR)/danesmtpd $(DESTDIR)$(MANDIR)/man8/danesmtpd.8 $(DESTDIR)$(MANDIR)/man8/danesmtp-opensmtpd.8
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBDIR)/danesmtp $(DESTDIR)$(LIBEXECDIR)/danesmtp

clean:
	rm -rf build
