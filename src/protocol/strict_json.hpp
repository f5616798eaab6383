// strict_json.hpp — parses JSON as the contract demands of every input (SPEC §2): an object with
// a duplicate key, or a number outside a double's range, is refused with the path of the member.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace dh::protocol {

struct json_refusal {
  // Where: "[1].task.priority", "payload.x"; empty for the document itself or a syntax error.
  std::string path;
  std::string message;  // "is a duplicate key", "is outside the range of a double", or the parser's word
};

// Boost.JSON's defaults otherwise (depth 32, no comments, no trailing commas, valid UTF-8 only).
// Its own parse keeps the last of two equal keys and turns 1e400 into an infinity that
// serialises as `Infinity`, which no browser parses: hence this one.
boost::system::result<boost::json::value, json_refusal> parse_strict_json(std::string_view text);

}  // namespace dh::protocol
