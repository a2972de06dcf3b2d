// libFuzzer target: a whole model load from arbitrary bytes (GGUF parsing,
// then the family's hyperparameters, its tensors' shapes and types, the
// vocabulary and tokenizer) must return a Status, never crash, hang or read
// out of bounds. Where a model loads, a short text goes through its
// tokenizer both ways, so that a bad vocabulary the loader let through
// shows. Seeds: the tiny-* shapes of `kvserve make-model` (see `make fuzz`).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto gguf = kvs::GgufFile::OpenBuffer(std::vector<uint8_t>(data, data + size), "fuzz");
  if (!gguf.ok()) return 0;
  auto file = kvs::ModelFile::FromGguf(std::move(gguf).value(), "fuzz");
  if (!file.ok()) {
    KVS_CHECK(!file.status().message().empty());
    return 0;
  }
  auto model = kvs::Model::FromFile(std::move(file).value());
  if (!model.ok()) {
    KVS_CHECK(!model.status().message().empty());
    return 0;
  }
  const kvs::Tokenizer& tok = (*model)->tokenizer();
  const std::vector<kvs::TokenId> ids =
      tok.EncodeWithSpecial("Hello, world! <|im_start|> 12345 héllo 😀\n\n", /*add_bos=*/true);
  for (kvs::TokenId id : ids) KVS_CHECK(id >= 0 && id < tok.n_vocab()) << "id " << id;
  volatile size_t keep = tok.Decode(ids).size() + (*model)->Describe().size();
  (void)keep;
  return 0;
}
