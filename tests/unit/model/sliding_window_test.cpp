// model/sliding_window.h: spans inside the window pass, a span past it is refused naming config.json,
// sliding_window, the family and both numbers; a model without a window takes any span.
#include "model/sliding_window.h"

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "unit/formats/formats_test_util.h"

namespace ll {
namespace {

TEST(SlidingWindow, RefusesOnlyASpanPastTheWindow) {
  LlamaConfig c;
  c.family = ModelFamily::Qwen2;
  c.sliding_window = 32;
  check_sliding_window(c, "/m", 32, "eval at context 32");
  test::expect_input_error([&] { check_sliding_window(c, "/m", 33, "eval at context 33"); },
                           {"/m/config.json", "sliding_window", "qwen2", "32 positions at most",
                            "eval at context 33 would attend to 33"});
  c.sliding_window = 0;  // no window
  check_sliding_window(c, "/m", int64_t{1} << 40, "anything");
}

}  // namespace
}  // namespace ll
