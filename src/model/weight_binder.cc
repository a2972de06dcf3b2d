#include "model/weight_binder.h"

#include "tensor/quant.h"

namespace kvs {
namespace {

std::string DimsString(const std::vector<int64_t>& dims) {
  std::string s = "{";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "}";
}

Status CheckDims(const TensorInfo& t, const std::vector<int64_t>& want) {
  if (t.dims == want) return Status::Ok();
  return InvalidArgumentError("tensor '" + t.name + "' has dims " + DimsString(t.dims) +
                              ", expected " + DimsString(want) + " from the hyperparameters");
}

}  // namespace

std::string LayerTensorName(int layer, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + suffix;
}

Status WeightBinder::Matrix(const std::string& name, int64_t rows, int64_t cols,
                            WeightMatrix* out) {
  const TensorInfo* t = file_->FindTensor(name);
  if (t == nullptr) return NotFoundError("missing tensor '" + name + "'");
  KVS_RETURN_IF_ERROR(CheckDims(*t, {cols, rows}));
  *out = WeightMatrix{t->type, rows, cols, t->data};
  n_bytes_ += static_cast<int64_t>(t->n_bytes);
  n_params_ += rows * cols;
  return Status::Ok();
}

Status WeightBinder::Vector(const std::string& name, int64_t n, const float** out) {
  const TensorInfo* t = file_->FindTensor(name);
  if (t == nullptr) return NotFoundError("missing tensor '" + name + "'");
  KVS_RETURN_IF_ERROR(CheckDims(*t, {n}));
  n_bytes_ += static_cast<int64_t>(t->n_bytes);
  n_params_ += n;
  if (t->type == DType::kF32) {
    *out = static_cast<const float*>(t->data);
  } else {
    if (n % BlockElems(t->type) != 0) {
      return InvalidArgumentError("tensor '" + name + "' of " + std::to_string(n) +
                                  " elements cannot be stored as " +
                                  std::string(DTypeName(t->type)));
    }
    std::vector<float>& v = converted_.emplace_back(n);
    DequantizeRow(t->type, t->data, v.data(), n);
    *out = v.data();
  }
  return Status::Ok();
}

Status WeightBinder::OptionalVector(const std::string& name, int64_t n, const float** out) {
  *out = nullptr;
  return Has(name) ? Vector(name, n, out) : Status::Ok();
}

}  // namespace kvs
