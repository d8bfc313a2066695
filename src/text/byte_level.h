// GPT-2's byte-level alphabet, as Hugging Face's ByteLevel pre-tokenizer and decoder use it: each
// of the 256 byte values stands for one printable character (the printable Latin-1 bytes for
// themselves, the others for U+0100..U+0143), so that a BPE over characters works on any bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ll::byte_level {

// Appends the byte-level characters of `bytes` (each byte becomes one 1- or 2-byte character).
void append_encoded(std::string& out, std::string_view bytes);

// The bytes that `token` spells in the byte-level alphabet; nothing when some character of it is
// not in the alphabet.
std::optional<std::string> decode(std::string_view token);

}  // namespace ll::byte_level
