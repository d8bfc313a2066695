// Fuzz target "pickle": the restricted pickle machine on its own, with a handler that allows a few globals
// (so REDUCE, NEWOBJ, BUILD and BINPERSID run) and refuses the rest, as torch_bin's does.
#include "formats/pickle_reader.h"
#include "fuzz_input.h"
#include "targets.h"

namespace {

using Kind = ll::PickleValue::Kind;

class PermissiveHandler final : public ll::PickleHandler {
 public:
  bool allows_global(const std::string& module, const std::string& name) const override {
    return module == "collections" || (module == "torch" && name.size() < 16);
  }
  ll::PickleValue* call(ll::PickleHeap& heap, const ll::PickleValue& callable, const ll::PickleValue& args) override {
    if (callable.text == "collections.OrderedDict") return heap.make(Kind::Dict);
    if (args.items.size() > 3) ll::fail_input("", "too many arguments");
    return heap.make_object("called", static_cast<int64_t>(args.items.size()));
  }
  ll::PickleValue* persistent_load(ll::PickleHeap& heap, const ll::PickleValue& pid) override {
    if (!pid.is(Kind::Tuple)) ll::fail_input("", "persistent id: not a tuple");
    return heap.make_object("storage", static_cast<int64_t>(pid.items.size()));
  }
};

// Walks what the pickle built, to a bounded depth (the memo can make cycles).
size_t walk(const ll::PickleValue* v, int depth) {
  if (!v || depth == 0) return 0;
  size_t n = ll::describe(*v).size();
  for (const ll::PickleValue* item : v->items) n += walk(item, depth - 1);
  return n;
}

}  // namespace

void ll::fuzz::pickle(const uint8_t* data, size_t size) {
  ll::fuzz::expect_input_errors_only([&] {
    ll::PickleHeap heap(1 << 16);
    PermissiveHandler handler;
    const ll::PickleValue* result = ll::run_pickle({data, size}, "fuzz.pkl", heap, handler);
    walk(result, 8);
  });
}
