#include "jinja/py_string.h"


namespace kvs::jinja {
namespace {

// Decodes one code point at s[i]; sets *len to its byte length.
char32_t Decode(std::string_view s, size_t i, size_t* len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) n = 1;
  for (int k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) n = 1;
  }
  *len = n;
  if (n == 1) return c;
  char32_t cp = c & (0x7f >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  return cp;
}

bool InChars(char32_t c, const std::string& chars) {
  for (size_t i = 0; i < chars.size();) {
    size_t len;
    if (Decode(chars, i, &len) == c) return true;
    i += len;
  }
  return false;
}

}  // namespace

bool IsPyWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

std::vector<size_t> CodePointOffsets(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size();) {
    out.push_back(i);
    size_t len;
    Decode(s, i, &len);
    i += len;
  }
  out.push_back(s.size());
  return out;
}

size_t CodePointCount(std::string_view s) { return CodePointOffsets(s).size() - 1; }

std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right) {
  std::vector<size_t> off = CodePointOffsets(s);
  size_t n = off.size() - 1;
  auto strippable = [&](size_t k) {
    size_t len;
    char32_t c = Decode(s, off[k], &len);
    return chars ? InChars(c, *chars) : IsPyWhitespace(c);
  };
  size_t b = 0, e = n;
  if (left) {
    while (b < e && strippable(b)) ++b;
  }
  if (right) {
    while (e > b && strippable(e - 1)) --e;
  }
  return std::string(s.substr(off[b], off[e] - off[b]));
}

std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      size_t f = s.find(*sep, pos);
      if (f == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, f - pos));
      pos = f + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  std::vector<size_t> off = CodePointOffsets(s);
  size_t n = off.size() - 1;
  auto ws = [&](size_t k) {
    size_t len;
    return IsPyWhitespace(Decode(s, off[k], &len));
  };
  size_t k = 0;
  while (k < n) {
    while (k < n && ws(k)) ++k;
    if (k == n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.emplace_back(s.substr(off[k]));  // the rest, trailing whitespace kept (as Python)
      break;
    }
    size_t b = k;
    while (k < n && !ws(k)) ++k;
    out.emplace_back(s.substr(off[b], off[k] - off[b]));
  }
  return out;
}

std::string PyReplace(std::string_view s, std::string_view from, std::string_view to,
                      int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    std::vector<size_t> off = CodePointOffsets(s);
    int64_t done = 0;
    for (size_t k = 0; k + 1 < off.size(); ++k) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += s.substr(off[k], off[k + 1] - off[k]);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(from, pos);
    if (f == std::string_view::npos) break;
    out += s.substr(pos, f - pos);
    out += to;
    pos = f + from.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

namespace {

// Simple case mapping for the scripts chat text mostly uses: ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic (Python maps all of
// Unicode; beyond these, characters keep their case).
char32_t UpperCp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c == 0xff) return 0x178;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17f) {
    bool upper_is_odd = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    if (upper_is_odd ? (c % 2 == 0) : (c % 2 == 1)) return c - 1;
    return c;
  }
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  return c;
}

char32_t LowerCp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x178) return 0xff;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17f) {
    bool upper_is_odd = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    if (upper_is_odd ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

bool Cased(char32_t c) { return UpperCp(c) != c || LowerCp(c) != c || c == 0xdf; }

void Append(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// mode: 'u' upper, 'l' lower, 't' title, 'c' capitalize.
std::string MapCase(std::string_view s, char mode) {
  std::string out;
  out.reserve(s.size());
  bool prev_cased = false;
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    char32_t c = Decode(s, i, &len);
    if (len == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      out += s[i];  // an invalid byte stays as it is
      i += 1;
      first = false;
      continue;
    }
    bool up = mode == 'u' || (mode == 't' && !prev_cased) || (mode == 'c' && first);
    if (up && c == 0xdf) {
      out += (mode == 'u') ? "SS" : "Ss";
    } else {
      Append(&out, up ? UpperCp(c) : LowerCp(c));
    }
    prev_cased = Cased(c);
    first = false;
    i += len;
  }
  return out;
}

}  // namespace

std::string PyUpper(std::string s) { return MapCase(s, 'u'); }
std::string PyLower(std::string s) { return MapCase(s, 'l'); }
std::string PyTitle(std::string_view s) { return MapCase(s, 't'); }
std::string PyCapitalize(std::string_view s) { return MapCase(s, 'c'); }

}  // namespace kvs::jinja
