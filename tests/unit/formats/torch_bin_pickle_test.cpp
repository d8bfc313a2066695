// The restricted pickle machine on hand-made pickles: every supported opcode rebuilds the value
// Python's pickle would, and everything else is refused with the opcode and its offset.
#include <gtest/gtest.h>

#include "formats/pickle_reader.h"
#include "unit/formats/formats_test_util.h"
#include "unit/formats/torch_bin_test_util.h"

namespace ll {
namespace {

using Kind = PickleValue::Kind;
using test::expect_input_error;
using test::PickleBytes;
using namespace std::string_literals;

// Allows one global, test.fn: calling it gives the number of arguments; a persistent id x
// stands for the string "pid:" + x.
class TestHandler final : public PickleHandler {
 public:
  bool allows_global(const std::string& module, const std::string& name) const override {
    return module == "test" && name == "fn";
  }
  PickleValue* call(PickleHeap& heap, const PickleValue& callable, const PickleValue& args) override {
    if (args.items.size() > 3) fail_input("", "test.fn takes at most 3 arguments");
    return heap.make_int(static_cast<int64_t>(args.items.size()));
  }
  PickleValue* persistent_load(PickleHeap& heap, const PickleValue& pid) override {
    if (!pid.is(Kind::String)) fail_input("", "pid must be a string");
    PickleValue* v = heap.make(Kind::String);
    v->text = "pid:" + pid.text;
    return v;
  }
};

const PickleValue* run(const std::string& bytes, PickleHeap& heap) {
  TestHandler handler;
  return run_pickle({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "t.pkl", heap, handler);
}

void expect_refused(const std::string& bytes, const std::vector<std::string>& parts) {
  PickleHeap heap;
  expect_input_error([&] { run(bytes, heap); }, parts);
}

TEST(PickleReader, PlainDataFromEverySupportedOpcode) {
  // {'ints': [7, 300, -5, 70000, -2**40, 0], 'misc': (2.5, None, True, False), 'strings':
  //  ('short', 'eight', 'four'), 'call': test.fn(1, 2), 'new': test.fn.__new__(test.fn),
  //  'pid': persistent('k'), 'again': <memo 300>}, framed, protocol 4
  PickleBytes p;
  p.proto(4).op(0x95).le<uint64_t>(0);  // an (empty-length) FRAME hint
  p.op('}').op(0x94);                   // MEMOIZE as 0
  p.mark();
  p.short_unicode("ints").op(']').mark();
  p.op('K').le<uint8_t>(7).op('M').le<uint16_t>(300).op('r').le<uint32_t>(70000);  // LONG_BINPUT 70000
  p.op('J').le<int32_t>(-5).op('J').le<int32_t>(70000).op(0x8a).le<uint8_t>(6);
  const int64_t big = -(int64_t{1} << 40);
  p.raw(std::string(reinterpret_cast<const char*>(&big), 6));  // LONG1, 6 bytes two's complement
  p.op(0x8a).le<uint8_t>(0).op('e');                           // LONG1 of 0 bytes is 0; APPENDS
  p.unicode8("misc");
  p.mark().op('G').raw(std::string("\x40\x04\x00\x00\x00\x00\x00\x00", 8)).op('N').op(0x88).op(0x89).op('t');
  p.unicode("strings").short_unicode("short").unicode8("eight").unicode("four").op(0x87);
  p.unicode("call").global("test", "fn").integer(1).integer(2).op(0x86).op('R');
  p.short_unicode("new").short_unicode("test").short_unicode("fn").op(0x93).op(')').op(0x81);
  p.short_unicode("pid").short_unicode("k").op('Q');
  p.short_unicode("again").op('j').le<uint32_t>(70000);
  p.op('u');
  p.short_unicode("one").op(']').integer(9).op('a').op(0x85).op('s');  // SETITEM 'one': ([9],)
  p.op('}').op('N').op('b').op(')').op('s');                           // BUILD with None: no-op
  p.stop();

  PickleHeap heap;
  const PickleValue* root = run(p.bytes, heap);
  ASSERT_TRUE(root->is(Kind::Dict));
  ASSERT_EQ(root->entries.size(), 9u);
  auto at = [&](size_t i, const char* key) {
    EXPECT_EQ(root->entries[i].first->text, key);
    return root->entries[i].second;
  };
  const PickleValue* ints = at(0, "ints");
  ASSERT_TRUE(ints->is(Kind::List));
  const std::vector<int64_t> want = {7, 300, -5, 70000, big, 0};
  ASSERT_EQ(ints->items.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ints->items[i]->integer, want[i]) << i;

  const PickleValue* misc = at(1, "misc");
  ASSERT_TRUE(misc->is(Kind::Tuple));
  ASSERT_EQ(misc->items.size(), 4u);
  EXPECT_EQ(misc->items[0]->real, 2.5);
  EXPECT_TRUE(misc->items[1]->is(Kind::None));
  EXPECT_TRUE(misc->items[2]->is(Kind::Bool) && misc->items[2]->boolean);
  EXPECT_TRUE(misc->items[3]->is(Kind::Bool) && !misc->items[3]->boolean);

  const PickleValue* strings = at(2, "strings");
  ASSERT_EQ(strings->items.size(), 3u);
  EXPECT_EQ(strings->items[0]->text, "short");
  EXPECT_EQ(strings->items[1]->text, "eight");
  EXPECT_EQ(strings->items[2]->text, "four");
  EXPECT_EQ(at(3, "call")->integer, 2);
  EXPECT_EQ(at(4, "new")->integer, 0);
  EXPECT_EQ(at(5, "pid")->text, "pid:k");
  EXPECT_EQ(at(6, "again")->integer, 300);  // the memo holds the very value stored
  EXPECT_EQ(at(6, "again"), ints->items[1]);
  const PickleValue* one = at(7, "one");
  ASSERT_TRUE(one->is(Kind::Tuple) && one->items.size() == 1 && one->items[0]->is(Kind::List));
  EXPECT_EQ(one->items[0]->items[0]->integer, 9);
  EXPECT_TRUE(root->entries[8].first->is(Kind::Dict));
}

TEST(PickleReader, MemoSharesMutableValues) {
  // l = [d] with d = {} memoized; d['x'] = 1 through the memo after l was built: l[0] sees it.
  PickleBytes p;
  p.proto(2).op(']').op('}').binput(0).op('a').binget(0).unicode("x").integer(1).op('s').op(0x86);
  p.stop();
  PickleHeap heap;
  const PickleValue* root = run(p.bytes, heap);
  ASSERT_TRUE(root->is(Kind::Tuple));
  const PickleValue* list = root->items[0];
  const PickleValue* dict = root->items[1];
  EXPECT_EQ(list->items[0], dict);
  ASSERT_EQ(dict->entries.size(), 1u);
  EXPECT_EQ(dict->entries[0].first->text, "x");
}

TEST(PickleReader, RefusesWhatItDoesNotRun) {
  const std::string proto = "\x80\x02";
  expect_refused(proto + "cos\nsystem\n.",
                 {"t.pkl: byte 2", "forbidden global 'os.system'", "only tensor data can be loaded"});
  expect_refused(proto +
                     "\x8c\x08"
                     "builtins\x8c\x04"
                     "eval\x93.",
                 {"byte 18", "forbidden global 'builtins.eval'"});
  expect_refused(proto + "i", {"byte 2", "unsupported pickle opcode 0x69 'i' INST"});
  expect_refused(proto + "]o.", {"byte 3", "unsupported pickle opcode 0x6f 'o' OBJ"});
  expect_refused(proto + "\x82\x01", {"unsupported pickle opcode 0x82 EXT1"});
  expect_refused(proto + "\xff", {"unsupported pickle opcode 0xff"});
  expect_refused("\x80\x06.", {"byte 0", "pickle protocol 6 is not supported"});
  expect_refused(proto + "ctest\nfn\n}R.", {"REDUCE expects a tuple of arguments, found a dict of 0"});
  expect_refused(proto + "K\x01)R.", {"REDUCE calls an int 1, not a global"});
  expect_refused(proto + "ctest\nfn\n(K\x01K\x02K\x03K\x04tR.", {"byte 21", "test.fn takes at most 3 arguments"});
  expect_refused(proto + "K\x05Q.", {"byte 4", "pid must be a string"});
  expect_refused(proto + "]}K\x01K\x02sb.",
                 {"BUILD would set the state of a list of 0 to a dict of 1", "only an empty state"});
}

TEST(PickleReader, RefusesMalformedPickles) {
  const std::string proto = "\x80\x02";
  expect_refused("", {"t.pkl", "ends without a STOP opcode"});
  expect_refused(proto + "K\x01", {"ends without a STOP opcode"});
  expect_refused(proto + "X\x10\x00\x00\x00short."s, {"byte 2", "truncated", "needs 16 bytes, 6 are left"});
  expect_refused(proto + "\x8d\xff\xff\xff\xff\xff\xff\xff\xff", {"truncated"});
  expect_refused(proto + "J\x01\x00"s, {"truncated: BININT's value needs 4 bytes"});
  expect_refused(proto + "ctest\nfn", {"GLOBAL's name has no terminating newline"});
  expect_refused(proto + "\x95\x00\x01\x00\x00\x00\x00\x00\x00."s, {"FRAME of 256 bytes overruns the pickle"});
  expect_refused(proto + ".", {"STOP with 0 values and 0 marks"});
  expect_refused(proto + "K\x01K\x02.", {"STOP with 2 values"});
  expect_refused(proto + "(K\x01.", {"STOP with 1 values and 1 marks"});
  expect_refused(proto + "t.", {"byte 2", "no MARK"});
  expect_refused(proto + "\x86.", {"stack underflow"});
  expect_refused(proto + "K\x01(\x85.", {"byte 5", "stack underflow"});  // a mark hides what is below it
  expect_refused(proto + "h\x03.", {"memo entry 3 is read before it was stored"});
  expect_refused(proto + "q\x00."s, {"a memo store on an empty stack"});
  expect_refused(proto + "}(K\x01u.", {"SETITEMS with an odd number (1)"});
  expect_refused(proto + "]K\x01K\x02s.", {"SETITEM needs a dict below its operands, found a list of 0"});
  expect_refused(proto +
                     "}K\x01"
                     "a.",
                 {"APPEND needs a list below its operands, found a dict of 0"});
  expect_refused(proto + "\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.", {"LONG1 integer of 9 bytes"});
  expect_refused(proto +
                     "K\x01\x8c\x02"
                     "fn\x93.",
                 {"STACK_GLOBAL expects two strings, found an int 1"});
}

TEST(PickleReader, ValueCountIsBounded) {
  PickleBytes p;
  p.proto(2).op(']');
  for (int i = 0; i < 100; ++i) p.op(']').op('a');
  p.stop();
  PickleHeap small(60);
  expect_input_error([&] { run(p.bytes, small); }, {"t.pkl: byte", "more than 60 values"});
  PickleHeap enough(200);
  EXPECT_EQ(run(p.bytes, enough)->items.size(), 100u);

  // Memo entries count too: a pickle of BINPUTs into fresh slots.
  PickleBytes memo;
  memo.proto(2).op('N');
  for (uint32_t i = 0; i < 100; ++i) memo.op('r').le<uint32_t>(i * 7919);
  memo.stop();
  PickleHeap heap(60);
  expect_input_error([&] { run(memo.bytes, heap); }, {"more than 60 values"});
}

}  // namespace
}  // namespace ll
