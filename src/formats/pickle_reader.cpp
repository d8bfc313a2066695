#include "formats/pickle_reader.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace ll {
namespace {

using Kind = PickleValue::Kind;

// Every opcode of pickle protocols 0-5, for error messages; the ones run_pickle executes are
// dispatched in Machine::step.
const char* opcode_name(uint8_t op) {
  // clang-format off
  switch (op) {
    case '(': return "MARK";            case '.': return "STOP";            case '0': return "POP";
    case '1': return "POP_MARK";        case '2': return "DUP";             case 'F': return "FLOAT";
    case 'I': return "INT";             case 'J': return "BININT";          case 'K': return "BININT1";
    case 'L': return "LONG";            case 'M': return "BININT2";         case 'N': return "NONE";
    case 'P': return "PERSID";          case 'Q': return "BINPERSID";       case 'R': return "REDUCE";
    case 'S': return "STRING";          case 'T': return "BINSTRING";       case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";         case 'X': return "BINUNICODE";      case 'a': return "APPEND";
    case 'b': return "BUILD";           case 'c': return "GLOBAL";          case 'd': return "DICT";
    case '}': return "EMPTY_DICT";      case 'e': return "APPENDS";         case 'g': return "GET";
    case 'h': return "BINGET";          case 'i': return "INST";            case 'j': return "LONG_BINGET";
    case 'l': return "LIST";            case ']': return "EMPTY_LIST";      case 'o': return "OBJ";
    case 'p': return "PUT";             case 'q': return "BINPUT";          case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";         case 't': return "TUPLE";           case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";        case 'G': return "BINFLOAT";        case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";         case 0x82: return "EXT1";           case 0x83: return "EXT2";
    case 0x84: return "EXT4";           case 0x85: return "TUPLE1";         case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";         case 0x88: return "NEWTRUE";        case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";          case 0x8b: return "LONG4";          case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";  case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";      case 0x8f: return "EMPTY_SET";      case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";      case 0x92: return "NEWOBJ_EX";      case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";        case 0x95: return "FRAME";          case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
  // clang-format on
}

std::string opcode_str(uint8_t op) {
  char buf[48];
  const char* name = opcode_name(op);
  if (op >= 0x20 && op < 0x7f)
    std::snprintf(buf, sizeof buf, "0x%02x '%c'%s%s", op, op, name ? " " : "", name ? name : "");
  else
    std::snprintf(buf, sizeof buf, "0x%02x%s%s", op, name ? " " : "", name ? name : "");
  return buf;
}

template <class T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[noreturn]] void fail(const std::string& what) { fail_input("", what); }

class Machine {
 public:
  Machine(std::span<const uint8_t> bytes, PickleHeap& heap, PickleHandler& handler)
      : bytes_(bytes), heap_(heap), handler_(handler) {
    none_ = heap_.make(Kind::None);
    true_ = heap_.make(Kind::Bool);
    true_->boolean = true;
    false_ = heap_.make(Kind::Bool);
  }

  // Position of the opcode being executed (for errors).
  size_t opcode_offset() const { return opcode_offset_; }
  bool at_end() const { return pos_ >= bytes_.size(); }

  // Executes one opcode; returns the result once STOP is reached, else nullptr.
  PickleValue* step() {
    opcode_offset_ = pos_;
    const uint8_t op = *take(1, "an opcode");
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t version = *take(1, "PROTO's version");
        if (version < 2 || version > 5)
          fail("pickle protocol " + std::to_string(version) + " is not supported (2 to 5 are)");
        return nullptr;
      }
      case 0x95: {  // FRAME: a length hint; the frame's opcodes follow inline
        const uint64_t len = load_le<uint64_t>(take(8, "FRAME's length"));
        if (len > bytes_.size() - pos_)
          fail("FRAME of " + std::to_string(len) + " bytes overruns the pickle (" +
               std::to_string(bytes_.size() - pos_) + " bytes left)");
        return nullptr;
      }
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1)
          fail("STOP with " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) +
               " marks on the stack; expected exactly one value");
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); return nullptr;  // MARK
      case '}': push(heap_.make(Kind::Dict)); return nullptr;     // EMPTY_DICT
      case ']': push(heap_.make(Kind::List)); return nullptr;     // EMPTY_LIST
      case ')': push(heap_.make(Kind::Tuple)); return nullptr;    // EMPTY_TUPLE
      case 't': push_tuple(pop_to_mark()); return nullptr;        // TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        const size_t n = op - 0x84;
        std::vector<PickleValue*> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push_tuple(std::move(items));
        return nullptr;
      }
      case 'N': push(none_); return nullptr;    // NONE
      case 0x88: push(true_); return nullptr;   // NEWTRUE
      case 0x89: push(false_); return nullptr;  // NEWFALSE
      case 'J': push(heap_.make_int(load_le<int32_t>(take(4, "BININT's value")))); return nullptr;
      case 'K': push(heap_.make_int(*take(1, "BININT1's value"))); return nullptr;
      case 'M': push(heap_.make_int(load_le<uint16_t>(take(2, "BININT2's value")))); return nullptr;
      case 0x8a: push(heap_.make_int(read_long1())); return nullptr;  // LONG1
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* p = take(8, "BINFLOAT's value");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];
        PickleValue* v = heap_.make(Kind::Float);
        std::memcpy(&v->real, &bits, 8);
        push(v);
        return nullptr;
      }
      case 'X': push_string(load_le<uint32_t>(take(4, "BINUNICODE's length"))); return nullptr;
      case 0x8c: push_string(*take(1, "SHORT_BINUNICODE's length")); return nullptr;
      case 0x8d: push_string(load_le<uint64_t>(take(8, "BINUNICODE8's length"))); return nullptr;
      case 'q': memo_put(*take(1, "BINPUT's index")); return nullptr;
      case 'r': memo_put(load_le<uint32_t>(take(4, "LONG_BINPUT's index"))); return nullptr;
      case 0x94: memo_put(memo_.size()); return nullptr;  // MEMOIZE
      case 'h': memo_get(*take(1, "BINGET's index")); return nullptr;
      case 'j': memo_get(load_le<uint32_t>(take(4, "LONG_BINGET's index"))); return nullptr;
      case 's': {  // SETITEM: dict[key] = value
        PickleValue* value = pop();
        PickleValue* key = pop();
        top_of_kind(Kind::Dict, "SETITEM")->entries.emplace_back(key, value);
        return nullptr;
      }
      case 'u': {  // SETITEMS: dict[k0] = v0, dict[k1] = v1, ... from the items above the mark
        std::vector<PickleValue*> items = pop_to_mark();
        if (items.size() % 2 != 0)
          fail("SETITEMS with an odd number (" + std::to_string(items.size()) + ") of keys and values");
        PickleValue* dict = top_of_kind(Kind::Dict, "SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) dict->entries.emplace_back(items[i], items[i + 1]);
        return nullptr;
      }
      case 'a': {  // APPEND
        PickleValue* value = pop();
        top_of_kind(Kind::List, "APPEND")->items.push_back(value);
        return nullptr;
      }
      case 'e': {  // APPENDS
        std::vector<PickleValue*> items = pop_to_mark();
        PickleValue* list = top_of_kind(Kind::List, "APPENDS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        return nullptr;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = read_line("GLOBAL's module");
        const std::string name = read_line("GLOBAL's name");
        push(global(module, name));
        return nullptr;
      }
      case 0x93: {  // STACK_GLOBAL: module and name strings from the stack
        PickleValue* name = pop();
        PickleValue* module = pop();
        if (!module->is(Kind::String) || !name->is(Kind::String))
          fail("STACK_GLOBAL expects two strings, found " + describe(*module) + " and " + describe(*name));
        push(global(module->text, name->text));
        return nullptr;
      }
      case 'R':
      case 0x81: {  // REDUCE: callable(*args); NEWOBJ: cls.__new__(cls, *args)
        PickleValue* args = pop();
        PickleValue* callable = pop();
        const char* what = op == 'R' ? "REDUCE" : "NEWOBJ";
        if (!callable->is(Kind::Global)) fail(std::string(what) + " calls " + describe(*callable) + ", not a global");
        if (!args->is(Kind::Tuple)) fail(std::string(what) + " expects a tuple of arguments, found " + describe(*args));
        push(handler_.call(heap_, *callable, *args));
        return nullptr;
      }
      case 'b': {  // BUILD: obj.__setstate__(state); only a no-op state is accepted
        PickleValue* state = pop();
        PickleValue* object = top("BUILD");
        const bool empty_state = state->is(Kind::None) || (state->is(Kind::Dict) && state->entries.empty());
        if (!empty_state)
          fail("BUILD would set the state of " + describe(*object) + " to " + describe(*state) +
               "; only an empty state is supported");
        return nullptr;
      }
      case 'Q': {  // BINPERSID
        PickleValue* pid = pop();
        push(handler_.persistent_load(heap_, *pid));
        return nullptr;
      }
      default:
        fail("unsupported pickle opcode " + opcode_str(op) +
             ": only the opcodes torch.save writes for tensors can be read");
    }
  }

 private:
  const uint8_t* take(uint64_t n, const char* what) {
    if (n > bytes_.size() - pos_)
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
           std::to_string(bytes_.size() - pos_) + " are left");
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }

  // LONG1: a length byte, then that many bytes of little-endian two's complement.
  int64_t read_long1() {
    const uint8_t n = *take(1, "LONG1's length");
    if (n > 8) fail("LONG1 integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
    const uint8_t* p = take(n, "LONG1's value");
    if (n == 0) return 0;
    uint64_t bits = 0;
    for (int i = n - 1; i >= 0; --i) bits = bits << 8 | p[i];
    if (n < 8 && (p[n - 1] & 0x80)) bits |= ~uint64_t{0} << (8 * n);  // sign-extend
    int64_t v;
    std::memcpy(&v, &bits, 8);
    return v;
  }

  std::string read_line(const char* what) {
    const uint8_t* begin = bytes_.data() + pos_;
    const void* nl = std::memchr(begin, '\n', bytes_.size() - pos_);
    if (!nl) fail(std::string("truncated: ") + what + " has no terminating newline");
    const size_t len = static_cast<const uint8_t*>(nl) - begin;
    pos_ += len + 1;
    return std::string(reinterpret_cast<const char*>(begin), len);
  }

  void push_string(uint64_t len) {
    const uint8_t* p = take(len, "the string");
    PickleValue* v = heap_.make(Kind::String);
    v->text.assign(reinterpret_cast<const char*>(p), len);
    push(v);
  }

  PickleValue* global(const std::string& module, const std::string& name) {
    if (!handler_.allows_global(module, name))
      fail("forbidden global '" + module + "." + name + "': only tensor data can be loaded");
    PickleValue* v = heap_.make(Kind::Global);
    v->text = module + "." + name;
    return v;
  }

  void push(PickleValue* v) { stack_.push_back(v); }

  void push_tuple(std::vector<PickleValue*> items) {
    PickleValue* t = heap_.make(Kind::Tuple);
    t->items = std::move(items);
    push(t);
  }

  // Values above the innermost mark belong to it: pop and top never reach below it.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }

  PickleValue* pop() {
    if (stack_.size() <= floor()) fail("stack underflow: the opcode needs a value that is not there");
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }

  PickleValue* top(const char* op) {
    if (stack_.size() <= floor()) fail(std::string(op) + " on an empty stack");
    return stack_.back();
  }

  PickleValue* top_of_kind(Kind kind, const char* op) {
    PickleValue* v = top(op);
    if (!v->is(kind))
      fail(std::string(op) + " needs a " + (kind == Kind::Dict ? "dict" : "list") + " below its operands, found " +
           describe(*v));
    return v;
  }

  std::vector<PickleValue*> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to collect values up to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  void memo_put(uint64_t index) {
    PickleValue* v = top("a memo store");
    if (memo_.find(index) == memo_.end()) heap_.charge(1);
    memo_[index] = v;
  }

  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is read before it was stored");
    push(it->second);
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  size_t opcode_offset_ = 0;
  PickleHeap& heap_;
  PickleHandler& handler_;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  PickleValue *none_, *true_, *false_;
};

}  // namespace

std::string describe(const PickleValue& value) {
  switch (value.kind) {
    case Kind::None: return "None";
    case Kind::Bool: return value.boolean ? "True" : "False";
    case Kind::Int: return "an int " + std::to_string(value.integer);
    case Kind::Float: return "a float " + std::to_string(value.real);
    case Kind::String:
      return "a string '" + (value.text.size() <= 40 ? value.text : value.text.substr(0, 40) + "...") + "'";
    case Kind::Tuple: return "a tuple of " + std::to_string(value.items.size());
    case Kind::List: return "a list of " + std::to_string(value.items.size());
    case Kind::Dict: return "a dict of " + std::to_string(value.entries.size());
    case Kind::Global: return "global '" + value.text + "'";
    case Kind::Object: return "a " + value.text;
  }
  return "?";
}

PickleValue* PickleHeap::make(PickleValue::Kind kind) {
  charge(1);
  values_.emplace_back();
  values_.back().kind = kind;
  return &values_.back();
}

PickleValue* PickleHeap::make_int(int64_t v) {
  PickleValue* p = make(Kind::Int);
  p->integer = v;
  return p;
}

PickleValue* PickleHeap::make_object(const std::string& what, int64_t handle) {
  PickleValue* p = make(Kind::Object);
  p->text = what;
  p->integer = handle;
  return p;
}

void PickleHeap::charge(size_t n) {
  if (n > max_values_ - charged_)
    fail("the pickle creates more than " + std::to_string(max_values_) + " values, far more than any state dict needs");
  charged_ += n;
}

PickleValue* run_pickle(std::span<const uint8_t> bytes, const std::string& where, PickleHeap& heap,
                        PickleHandler& handler) {
  Machine machine(bytes, heap, handler);
  while (!machine.at_end()) {
    try {
      if (PickleValue* result = machine.step()) return result;
    } catch (const InputError& e) {
      fail_input(where + ": byte " + std::to_string(machine.opcode_offset()), e.what());
    }
  }
  fail_input(where, "truncated: the pickle ends without a STOP opcode");
}

}  // namespace ll
