#include "model/rope_scaling.h"

#include <cmath>

namespace kvs {

std::vector<float> LlamaRopeFreqs(const Llama3RopeScaling& s, int head_dim, float freq_base) {
  const double kPi = 3.14159265358979323846;
  const double low_wavelen = s.original_context / s.low_freq_factor;
  const double high_wavelen = s.original_context / s.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(static_cast<double>(freq_base), double(i) / head_dim);
    const double wavelen = 2 * kPi / freq;
    double divisor;
    if (wavelen < high_wavelen) {
      divisor = 1;  // short wavelengths keep their frequency
    } else if (wavelen > low_wavelen) {
      divisor = s.factor;  // long ones are stretched by the whole factor
    } else {  // in between, interpolated
      const double smooth = (s.original_context / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      divisor = 1 / ((1 - smooth) / s.factor + smooth);
    }
    out.push_back(static_cast<float>(divisor));
  }
  return out;
}

}  // namespace kvs
