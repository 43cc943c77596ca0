// A study row is one (model, backend, requested threads) measured in several rounds. Each round's
// child writes a libscout.run/1 result; the row keeps a short entry per round (its timings, its
// validation, its energy window) and pools them: latency statistics over every timed inference
// of the ok rounds with a hierarchical-bootstrap interval of the median, energy as the median of
// the rounds' windows, status as the worst round's (docs/json-schemas.md, "Rows of a study").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace libscout::study {

// The entry of one round in a row's `rounds[]`: {round, step, status, reason, median_ms,
// iterations, busy_cores_at_start, remeasured, mj_per_inference, samples_ms, validation, energy,
// energy_error}. `result` is the child's result row (null when it wrote none).
nlohmann::json round_entry(int round, const std::string& step, const std::string& status,
                           const std::string& reason, const nlohmann::json& result);

// Adds a round to `row` (an entry of the same round is replaced and recorded under the new
// entry's `replaced`: a re-measurement), copies the result's descriptive fields (threads,
// versions, fallback, settings, ...) into the row if it has none yet, and re-pools the row.
void add_round(nlohmann::json& row, nlohmann::json entry, const nlohmann::json& result,
               std::uint64_t seed);

// Recomputes the row's pooled fields from its rounds: status, reason, iterations, latency_ms (with
// ci_low/ci_high), ci, validation, rounds_ok, busy_cores_at_start, busy, energy.
void pool_rounds(nlohmann::json& row, std::uint64_t seed);

// Whether a round was measured while other work kept the CPUs busy.
bool round_was_busy(const nlohmann::json& entry);

}  // namespace libscout::study
