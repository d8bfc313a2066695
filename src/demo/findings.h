// The demo's findings: LongLoRA's claims (arXiv:2309.12307, Tables 1–2 and the S²-Attn speed-up),
// each computed from the results table with a threshold that can fail (docs/demo.md says why each
// threshold). A claim holds only beyond the seeds' spread: every seed's value must satisfy it.
#pragma once
#include <string>
#include <vector>

#include "demo/results.h"

namespace ll::demo {

enum class Verdict {
  Holds,          // every seed satisfies the threshold
  Fails,          // no seed does
  WithinNoise,    // the seeds' spread straddles the threshold: not shown
  NotMeasured,    // the run lacks a measurement the claim needs (a model, a context, a quiet machine)
  NotMeaningful,  // --quick: a smoke test, too small for any verdict
};

struct Finding {
  int number;          // 1…7, as in issue 17
  std::string claim;   // "The base degrades past its trained context"
  Verdict verdict;
  std::string detail;  // the numbers used and the threshold
};

struct FindingsInput {
  std::vector<ModelResult> models;  // ids: base, pi, lora, lora-plus-full-attn, longlora, full-ft
  int64_t base_context = 0, target_context = 0;
  bool meaningful = true;   // false for --quick
};

std::vector<Finding> evaluate_findings(const FindingsInput& in);

// "✓ (1) claim: detail", "✗ …", "✗ within seed noise: …", "– not measured: …", "– not meaningful at this size: …".
std::string finding_text(const Finding& f);

}  // namespace ll::demo
