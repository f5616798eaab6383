#include "protocol/strict_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <unordered_set>
#include <vector>

namespace dh::protocol {

namespace json = boost::json;

namespace {

// A basic_parser handler that builds the value as Boost's own parser does (a value_stack) and
// keeps, per open container, what the checks need: the keys seen so far, or the element index.
class strict_handler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::optional<json_refusal> refusal;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return open(true); }
  bool on_object_end(std::size_t n, json::error_code&) {
    close();
    st.push_object(n);
    return value_done();
  }
  bool on_array_begin(json::error_code&) { return open(false); }
  bool on_array_end(std::size_t n, json::error_code&) {
    close();
    st.push_array(n);
    return value_done();
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    auto& level = levels_[depth_ - 1];
    const bool fresh = level.add_key(key_);
    key_.clear();
    if (!fresh) return refuse(ec, "is a duplicate key");
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return value_done();
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return value_done();
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return value_done();
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    if (!std::isfinite(d)) return refuse(ec, "is outside the range of a double");
    st.push_double(d);
    return value_done();
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return value_done();
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return value_done();
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  // Objects keep their keys so far: a linear scan while they are few (the contract's objects
  // have about ten), a hash set once there are many, so a hostile object of 100,000 keys costs
  // no more than its size. The strings are reused between objects, so short keys cost no
  // allocation at all.
  struct level {
    static constexpr std::size_t scan_limit = 16;
    bool object = false;
    std::size_t index = 0;              // arrays: the element being parsed
    std::vector<std::string> keys;      // objects: keys[0..count) so far; the last is the member being parsed
    std::size_t count = 0;
    std::unordered_set<std::string> many;  // objects past scan_limit keys: all of them

    void reset(bool is_object) {
      object = is_object;
      index = 0;
      count = 0;
      many.clear();
    }
    const std::string& key() const { return keys[count - 1]; }
    // Makes `k` the member being parsed; false when it was seen before in this object.
    bool add_key(const std::string& k) {
      bool fresh = true;
      if (count < scan_limit) {
        for (std::size_t i = 0; i < count && fresh; ++i) fresh = keys[i] != k;
      } else {
        if (count == scan_limit) many.insert(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(count));
        fresh = many.insert(k).second;
      }
      if (count == keys.size())
        keys.push_back(k);
      else
        keys[count].assign(k);
      ++count;
      return fresh;
    }
  };

  // Levels are reused by depth, so a document of many small objects allocates little.
  bool open(bool object) {
    if (levels_.size() == depth_) levels_.emplace_back();
    levels_[depth_++].reset(object);
    return true;
  }
  void close() { --depth_; }
  bool value_done() {
    if (depth_ > 0 && !levels_[depth_ - 1].object) ++levels_[depth_ - 1].index;
    return true;
  }
  std::string path() const {
    std::string out;
    for (std::size_t i = 0; i < depth_; ++i) {
      const auto& l = levels_[i];
      if (!l.object)
        fmt::format_to(std::back_inserter(out), "[{}]", l.index);
      else
        fmt::format_to(std::back_inserter(out), "{}{}", out.empty() ? "" : ".", l.key());
    }
    return out;
  }
  bool refuse(json::error_code& ec, std::string message) {
    refusal = json_refusal{path(), std::move(message)};
    ec = json::error::syntax;  // stops the parser; `refusal` says why
    return false;
  }

  std::vector<level> levels_;
  std::size_t depth_ = 0;
  std::string key_;
};

}  // namespace

boost::system::result<json::value, json_refusal> parse_strict_json(std::string_view text) {
  json::basic_parser<strict_handler> parser(json::parse_options{});
  parser.handler().st.reset();
  json::error_code ec;
  const auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (auto& refusal = parser.handler().refusal) return std::move(*refusal);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (!ec && !parser.done()) ec = json::error::incomplete;
  if (ec) return json_refusal{{}, ec.message()};
  return parser.handler().st.release();
}

}  // namespace dh::protocol
