// Input validation for the engine (SPEC §7). Every check throws ValidationError saying what
// is wrong and where; nothing here touches storage.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/config.h"
#include "pgqrs/records.h"

namespace pgqrs::core {

// Queue and worker names: 1-128 characters of [A-Za-z0-9_.:-]. `what` is "queue name" etc.
void validate_name(std::string_view name, std::string_view what);

// Checks one payload against the limits and returns its serialised form (what is stored).
// `where` locates it in messages, e.g. "message 3 of 10".
std::string validate_payload(const json& payload, const ValidationConfig& limits,
                             std::string_view where);

// Serialises a batch; the error names the index of the first bad payload.
std::vector<std::string> validate_payloads(const std::vector<json>& payloads,
                                           const ValidationConfig& limits);

// Batch size for a dequeue: 1..max.
void validate_batch_size(std::uint64_t n, std::uint32_t max);

}  // namespace pgqrs::core
