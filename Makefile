# Thin wrapper over CMake. `make run` and `make test` work on a fresh Debian 12
# machine: they install missing packages first (apt-get, as root).
SHARED    ?= ../shared
BUILD     ?= build
MODEL     ?= $(SHARED)/models/stories260K.bin
TOKENIZER ?= $(if $(filter %.bin,$(MODEL)),$(SHARED)/models/tok512.bin,)
PORT      ?= 8080
JOBS      ?= $(shell nproc)
# ctest runs one test more than there are cores: the end-to-end tests spend
# part of their time waiting on child processes, sockets and node (the plain
# tests at -j 2 kept 1.4 of 2 cores busy). On 2 cores, 2026-12-05: plain
# tests 211 -> 173 s, ASan tests 552 -> 507 s.
TEST_JOBS ?= $(shell echo $$(($(JOBS) + 1)))

DEBIAN_PACKAGES := cmake ninja-build g++ libgtest-dev libbenchmark-dev libcli11-dev \
  nlohmann-json3-dev libcpp-httplib-dev libboost-dev libssl-dev \
  libpcre2-dev libicu-dev pkg-config python3-numpy python3-jinja2 python3-jsonschema chromium libucx-dev \
  libzmq3-dev libmsgpack-cxx-dev python3-zmq python3-msgpack python3-cbor2 python3-yaml \
  python3-prometheus-client clang libclang-rt-14-dev
# libzmq3-dev, libmsgpack-cxx-dev: KV events (src/events). python3-zmq, -msgpack,
# -cbor2: the independent KV-event subscriber (tests/kv_events_subscriber.py);
# python3-yaml: deploy/validate_manifests.py; python3-prometheus-client: its text parser
# checks /metrics in tests/scaleout_serve_check.py.
# python3-jinja2: the oracle the chat templates are rendered against.
# chromium: the web page's browser tests (tests/server/web.test.mjs).
# clang, libclang-rt-14-dev: the sanitizer trees (make test) and make fuzz.
# Node.js runs the OpenAI-client tests; any node with npm will do (e.g. a nodesource build,
# whose nodejs package ships npm and conflicts with Debian's npm package).
NODE_PACKAGES := nodejs npm

.PHONY: all deps configure build run serve generate test test-asan test-tsan bench bench-serving fuzz clean format

all: build

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v npm >/dev/null 2>&1 || echo $(NODE_PACKAGES)); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# A unity build (CMAKE_UNITY_BUILD: eight sources per compiler run, so that
# Boost.Beast, nlohmann/json, CLI11 and GoogleTest are parsed once per batch,
# not once per file): a fresh tree built in 6.0-6.5 min on 2 cores instead
# of 10 (GCC 12, AMD EPYC VM, 2026-12-05), 4.8 once the benchmarks left `all`. The SIMD kernel files keep their own compiler runs
# (per-file flags). An edit recompiles its batch; for one file per run,
# configure a tree of your own with -DCMAKE_UNITY_BUILD=OFF.
configure: deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_UNITY_BUILD=ON -DKVS_SHARED_DIR=$(abspath $(SHARED))

build: configure
	cmake --build $(BUILD) -j $(JOBS)

generate: build
	$(BUILD)/kvserve generate -m $(MODEL) $(if $(TOKENIZER),--tokenizer $(TOKENIZER)) \
	  -p "Once upon a time" -n 200 --temperature 0

# make run: the OpenAI-compatible server on the default model, in the
# foreground (Ctrl-C stops it cleanly). Once it is ready, a curl command to
# paste into another shell is printed. Extra serve flags: SERVE_ARGS=...
run: build
	@$(MAKE) --no-print-directory serve

MODEL_ID ?= $(basename $(notdir $(MODEL)))
export KVS_CURL_EXAMPLE := curl -sN http://127.0.0.1:$(PORT)/v1/chat/completions -H 'Content-Type: application/json' -d '{"model": "$(MODEL_ID)", "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 64, "stream": true}'

serve:
	@$(BUILD)/kvserve serve -m $(MODEL) $(if $(TOKENIZER),--tokenizer $(TOKENIZER)) \
	  --host 127.0.0.1 --port $(PORT) $(SERVE_ARGS) | while IFS= read -r line; do \
	    echo "$$line"; \
	    case "$$line" in *"ready on"*) echo; echo "Try it from another shell:"; \
	      echo "  $$KVS_CURL_EXAMPLE"; echo;; esac; \
	  done

# make test: every test on the plain build, then (SANITIZE=1, the default)
# the unit and end-to-end tests again under AddressSanitizer with
# UndefinedBehaviorSanitizer (make test-asan: all of them) and the engine,
# server, disagg and router unit tests and the disaggregated serving processes
# under ThreadSanitizer (make test-tsan). Each sanitized tree is a build of
# its own ($(BUILD)-asan, $(BUILD)-tsan), compiled by clang as a unity build
# (CMAKE_UNITY_BUILD: eight sources per compiler run, so that the heavy
# headers are parsed and instantiated once per batch). Both choices are for
# CI's time on 2 cores: GCC took 14 min to build the unity ASan tree, clang
# half that (one server batch: 31.8 s against 15.6 s), and the TSan stage
# fell from 4 min to 2.5. The plain tree, the one that ships, stays GCC's.
# A fresh clone's `make test`, 2 cores, AMD EPYC VM: 26.2 min at e04cb54
# and 31.1 at ac9fd46 (same code; the VM is noisy), 34.0 at d0443e6, 26.0
# at f8b20a1, 28.0 at fffc203 (docs/BENCHMARKS.md); CI took 33.8 at
# 5a23f3c and 27.1 at 0b4d6c9. The 26.2 run: plain build 4.8 min, its 703
# tests 2.7; ASan+UBSan build 7.5, tests 7.3; TSan build 3.0, tests 0.9.
# What took it from 34: the end-to-end tests as one unity-built binary,
# ctest -j JOBS+1, no UBSan pointer-overflow check in the SIMD kernel
# files, benchmarks out of `all`, and faster F16 reference matmuls and
# Jinja loops in the slowest tests.
SANITIZE ?= 1
SAN_CMAKE := -G Ninja -DCMAKE_BUILD_TYPE=Release -DKVS_SHARED_DIR=$(abspath $(SHARED)) \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
# UCX_MEM_EVENTS=no: UCX's malloc/mmap hooks and ThreadSanitizer's
# interceptors crash each other at startup (every test that links UCX).
SANITIZER_OPTIONS := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  UCX_MEM_EVENTS=no

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS)
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory test-asan test-tsan
endif

test-asan: configure
	@[ -f $(BUILD)-asan/build.ninja ] || cmake -S . -B $(BUILD)-asan $(SAN_CMAKE) -DKVS_SANITIZE=address,undefined
	cmake --build $(BUILD)-asan -j $(JOBS)
	$(SANITIZER_OPTIONS) ctest --test-dir $(BUILD)-asan --output-on-failure -j $(TEST_JOBS)

test-tsan: configure
	@[ -f $(BUILD)-tsan/build.ninja ] || cmake -S . -B $(BUILD)-tsan $(SAN_CMAKE) -DKVS_SANITIZE=thread
	cmake --build $(BUILD)-tsan -j $(JOBS) --target kvs_engine_test kvs_server_test kvs_disagg_test \
	  kvs_router_test kvserve disagg_serve_test
	$(SANITIZER_OPTIONS) ctest --test-dir $(BUILD)-tsan --output-on-failure -j $(TEST_JOBS) \
	  -L '^(engine|server|disagg|router)$$'
	$(SANITIZER_OPTIONS) ctest --test-dir $(BUILD)-tsan --output-on-failure -R DisaggServe

bench: build
	cmake --build $(BUILD) -j $(JOBS) --target benches
	@for b in $(BUILD)/*_bench; do [ -x $$b ] && $$b; done; true
	SHARED=$(abspath $(SHARED)) bench/compare_llamacpp.sh $(BUILD)
	bench/serving/run.sh short $(BUILD) $(MODEL) $(TOKENIZER)

# The longer serving benchmark: a random-weight TinyLlama-shape Q8_0 model
# under issue #7's llama-server workload (minutes on a small machine).
bench-serving: build
	VOCAB=$(abspath $(SHARED))/models/tokenizer.bin bench/serving/run.sh long $(BUILD)

fuzz: build
	cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DKVS_FUZZ=ON \
	  -DKVS_SHARED_DIR=$(abspath $(SHARED))
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target gguf_reader_fuzz model_load_fuzz \
	  safetensors_reader_fuzz byte_bpe_fuzz openai_request_fuzz template_fuzz grammar_fuzz \
	  http_request_fuzz
	@# A file argument alone would make libFuzzer just run it once: give each
	@# target a corpus directory seeded with real GGUF files (the reader: their
	@# first 64 KiB; the model loader: whole tiny models of each family, written by make-model).
	mkdir -p $(BUILD)-fuzz/corpus $(BUILD)-fuzz/model-corpus $(BUILD)-fuzz/safetensors-corpus
	printf '\112\000\000\000\000\000\000\000{"w":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"__metadata__":{}}12345678' \
	  > $(BUILD)-fuzz/safetensors-corpus/seed.safetensors
	cp -n $(SHARED)/models/stories260K-f16.gguf $(SHARED)/models/quant-test/quant-test-Q4_K.gguf \
	  $(BUILD)-fuzz/corpus/
	for s in tiny-llama3 tiny-qwen2 tiny-qwen3; do for t in F16 Q8_0; do \
	  $(BUILD)/kvserve make-model --shape $$s --type $$t --vocab $(SHARED)/models/tok512.bin \
	    -o $(BUILD)-fuzz/model-corpus/$$s-$$t.gguf || exit 1; done; done
	$(BUILD)-fuzz/gguf_reader_fuzz -max_total_time=60 -max_len=65536 -print_final_stats=1 \
	  $(BUILD)-fuzz/corpus
	$(BUILD)-fuzz/model_load_fuzz -max_total_time=60 -max_len=131072 -print_final_stats=1 \
	  $(BUILD)-fuzz/model-corpus
	$(BUILD)-fuzz/safetensors_reader_fuzz -max_total_time=60 -max_len=4096 -print_final_stats=1 \
	  $(BUILD)-fuzz/safetensors-corpus
	@# The byte-level BPE tokenizer on arbitrary text, seeded with the corpus strings.
	mkdir -p $(BUILD)-fuzz/bpe-corpus
	i=0; while IFS= read -r line; do i=$$((i+1)); [ $$i -le 300 ] || break; \
	  printf '\003%s' "$$line" > $(BUILD)-fuzz/bpe-corpus/$$i; done < tests/data/bpe_corpus/strings.jsonl
	$(BUILD)-fuzz/byte_bpe_fuzz -max_total_time=60 -max_len=4096 -print_final_stats=1 \
	  $(BUILD)-fuzz/bpe-corpus
	@# The request path: first byte = endpoint and nesting limit, then the body.
	mkdir -p $(BUILD)-fuzz/request-corpus
	printf '\201{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stop":["a"],"stream":true,"stream_options":{"include_usage":true},"logit_bias":{"5":-1},"priority":-2}' \
	  > $(BUILD)-fuzz/request-corpus/chat.json
	printf '\200{"prompt":[[1,2,3]],"max_tokens":4,"temperature":0.5,"logprobs":2,"seed":7}' \
	  > $(BUILD)-fuzz/request-corpus/completion.json
	$(BUILD)-fuzz/openai_request_fuzz -max_total_time=60 -max_len=65536 -print_final_stats=1 \
	  $(BUILD)-fuzz/request-corpus
	@# The whole request path: raw HTTP bytes (head, any body coding) to a parsed request.
	mkdir -p $(BUILD)-fuzz/http-corpus
	printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\n\r\n{"prompt":[[1,2,3]],"max_tokens":4,"n":2}' \
	  > $(BUILD)-fuzz/http-corpus/completion.http
	printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10;e=1\r\n{"messages":[{"r\r\n1d\r\nole":"user","content":"hi"}]}\r\n0\r\n\r\n' \
	  > $(BUILD)-fuzz/http-corpus/chat-chunked.http
	$(BUILD)-fuzz/http_request_fuzz -max_total_time=60 -max_len=65536 -print_final_stats=1 \
	  $(BUILD)-fuzz/http-corpus
	@# Chat templates: parse + render arbitrary template text, seeded with the real ones.
	mkdir -p $(BUILD)-fuzz/template-corpus
	cp tests/data/chat_templates/*.jinja $(BUILD)-fuzz/template-corpus/
	for m in hf-llama3.1 hf-qwen3; do python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["chat_template"])' \
	  $(SHARED)/models/vocab/$$m/tokenizer_config.json > $(BUILD)-fuzz/template-corpus/$$m.jinja || exit 1; done
	$(BUILD)-fuzz/template_fuzz -max_total_time=60 -max_len=16384 -print_final_stats=1 \
	  $(BUILD)-fuzz/template-corpus
	@# Grammars: first byte 0 GBNF, 1 JSON schema, 2 regex; seeded with the test grammars.
	mkdir -p $(BUILD)-fuzz/grammar-corpus
	for f in tests/data/grammar/gbnf/*.gbnf; do { printf '\000'; cat $$f; } > $(BUILD)-fuzz/grammar-corpus/$$(basename $$f); done
	python3 -c 'import json; [open("$(BUILD)-fuzz/grammar-corpus/schema%d" % i, "w").write("\x01" + json.dumps(s)) for i, s in enumerate(json.load(open("tests/data/grammar/schemas.json")))]; [open("$(BUILD)-fuzz/grammar-corpus/regex%d" % i, "w").write("\x02" + r) for i, r in enumerate(json.load(open("tests/data/grammar/regexes.json")))]'
	$(BUILD)-fuzz/grammar_fuzz -max_total_time=60 -max_len=4096 -print_final_stats=1 \
	  $(BUILD)-fuzz/grammar-corpus

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
