# kvserve container image: build stage on Debian 12 with the toolchain, a
# runtime stage with only the shared libraries the binary needs, running as
# an unprivileged user. The model is NOT in the image: mount it (a volume,
# a PVC, an image volume) and pass its path to `serve -m`.
#
#   podman build -t kvserve:dev .        (or docker / buildah bud)
#   podman run --rm -p 8080:8080 -p 5557:5557 -v /models:/models:ro kvserve:dev \
#     serve -m /models/model.gguf --host 0.0.0.0 --port 8080 \
#     --kv-events-endpoint 'tcp://*:5557' --prefix-hash sha256_cbor --metrics-public
FROM debian:12-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ libgtest-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libboost-dev \
      libssl-dev libpcre2-dev libicu-dev pkg-config libzmq3-dev libmsgpack-cxx-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY src ./src
COPY tools ./tools
COPY tests ./tests
COPY bench ./bench
# JOBS: parallel compile jobs (default: ninja's, cores + 2).
ARG JOBS=
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build --target kvserve ${JOBS:+-j $JOBS} \
    && strip build/kvserve

FROM debian:12-slim AS runtime
# Runtime libraries only (the binary's NEEDED entries): OpenSSL (block
# hashes), PCRE2 + ICU (tokenizers), cpp-httplib (HTTP), ZeroMQ (KV events);
# curl for the image's own health check.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libpcre2-8-0 libicu72 libcpp-httplib0.11 libzmq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kvserve \
    && useradd --system --uid 10001 --gid kvserve --home-dir /nonexistent --shell /usr/sbin/nologin kvserve
COPY --from=build /src/build/kvserve /usr/local/bin/kvserve
USER 10001:10001
# 8080: OpenAI API, /health, /metrics. 5557/5558: KV events and their replay.
EXPOSE 8080 5557 5558
VOLUME ["/models"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/kvserve"]
CMD ["serve", "-m", "/models/model.gguf", "--host", "0.0.0.0", "--port", "8080"]
