// A restricted pickle machine: rebuilds plain data (None, bools, ints, floats, strings, tuples,
// lists, dicts) from the opcodes torch.save emits, and nothing that runs code.
//
// The caller decides everything a pickle could otherwise turn into code: which globals
// (GLOBAL/STACK_GLOBAL "module.name") may be named at all, what calling one of them (REDUCE,
// NEWOBJ) builds, and what a persistent id (BINPERSID) stands for. Every other global is refused
// the moment it is named, so a forbidden callable is never even looked at twice. Opcodes outside
// the supported subset are refused with their byte and offset.
//
// Supported opcodes (protocols 2 to 5): PROTO FRAME STOP MARK EMPTY_DICT EMPTY_LIST EMPTY_TUPLE
// TUPLE TUPLE1 TUPLE2 TUPLE3 NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 BINFLOAT
// BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET SETITEM
// SETITEMS APPEND APPENDS GLOBAL STACK_GLOBAL REDUCE NEWOBJ BUILD (only with an empty state)
// BINPERSID.
//
// Memory: values live in a PickleHeap owned by the caller, by default at most kMaxPickleValues of
// them (a state dict needs about a dozen per tensor); strings are bounded by the pickle's own size.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ll {

// The most values (plus memo entries) one pickle may create: ample for 100k tensors.
constexpr size_t kMaxPickleValues = size_t{1} << 21;

struct PickleValue {
  enum class Kind : uint8_t { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Object };
  Kind kind = Kind::None;
  bool boolean = false;             // Bool
  int64_t integer = 0;              // Int; Object: the handle its maker gave it
  double real = 0;                  // Float
  std::string text;                 // String; Global: "module.name"; Object: what it is ("tensor", ...)
  std::vector<PickleValue*> items;  // Tuple, List
  std::vector<std::pair<PickleValue*, PickleValue*>> entries;  // Dict, in insertion order

  bool is(Kind k) const { return kind == k; }
  bool is_object(const char* what) const { return kind == Kind::Object && text == what; }
};

// "None", "an int 5", "a string 'x'", "a tuple of 3", "global 'os.system'", "a tensor", ...
std::string describe(const PickleValue& value);

// Owns every value of one run; pointers stay valid while the heap lives (values may form cycles
// through the memo, which pointer ownership by the heap tolerates).
class PickleHeap {
 public:
  explicit PickleHeap(size_t max_values = kMaxPickleValues) : max_values_(max_values) {}
  PickleValue* make(PickleValue::Kind kind);  // InputError past max_values
  PickleValue* make_int(int64_t v);
  PickleValue* make_object(const std::string& what, int64_t handle);
  // Counts toward the same limit (memo entries).
  void charge(size_t n);

 private:
  std::deque<PickleValue> values_;
  size_t max_values_;
  size_t charged_ = 0;
};

// What the caller allows. Errors it throws (InputError with just the message, no location) are
// re-thrown with the pickle's name and the opcode's offset in front.
class PickleHandler {
 public:
  virtual ~PickleHandler() = default;
  // GLOBAL / STACK_GLOBAL: may `module.name` be named? (false: "forbidden global" error)
  virtual bool allows_global(const std::string& module, const std::string& name) const = 0;
  // REDUCE (callable(*args)) and NEWOBJ (cls.__new__(cls, *args)): `callable` is an allowed
  // Global, `args` a Tuple.
  virtual PickleValue* call(PickleHeap& heap, const PickleValue& callable, const PickleValue& args) = 0;
  // BINPERSID: the object a persistent id stands for.
  virtual PickleValue* persistent_load(PickleHeap& heap, const PickleValue& pid) = 0;
};

// Runs the pickle in `bytes` up to STOP and returns the value it leaves. `where` names the pickle
// in errors ("model.bin: archive/data.pkl"). Malformed or disallowed input throws InputError
// "<where>: byte <offset>: <what>".
PickleValue* run_pickle(std::span<const uint8_t> bytes, const std::string& where, PickleHeap& heap,
                        PickleHandler& handler);

}  // namespace ll
