// user_id.hpp — the opaque user id of the contract: [A-Za-z0-9._-]{1,64}, written in JSON as a
// number when it is a canonical decimal integer below 2^53, else as a string. Pure functions.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dh::protocol {

bool is_valid_user_id(std::string_view id) noexcept;

// The JSON form of a valid id (SPEC §1: "userId": 1 but "userId": "user-456").
boost::json::value user_id_to_json(std::string_view id);

// The canonical text of a JSON user id (string, or a non-negative integer), or nullopt when
// the value cannot be a user id. Does not check the character rule.
std::optional<std::string> user_id_from_json(const boost::json::value& v);

}  // namespace dh::protocol
