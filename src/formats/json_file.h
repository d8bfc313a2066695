// JSON documents read from files (config.json, safetensors headers, shard indexes), with errors
// that name the file and the parse position.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ll {

// Parses `text`; malformed JSON throws InputError "<where>: malformed JSON: ... line L, column C ...".
nlohmann::json parse_json(std::string_view text, const std::string& where);

// Reads and parses a whole JSON file; the error names the path.
nlohmann::json read_json_file(const std::string& path);

}  // namespace ll
