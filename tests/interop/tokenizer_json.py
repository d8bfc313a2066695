"""Builds tokenizer.json files with Hugging Face's own tools and records what the `tokenizers`
library makes of a set of texts, for tokenizer_json_test.cpp to compare longlora against.

usage: tokenizer_json.py OUT_DIR SHARED_DATA_DIR

OUT_DIR/texts.json   {"names": [...], "texts": [hex of the UTF-8 bytes (some malformed)]}
OUT_DIR/<name>/      tokenizer.json (+ tokenizer_config.json) and expected.json:
                     {"ids": encode(text, add_special_tokens=False) per text,
                      "with_special": encode(text) (the post-processor's tokens added),
                      "decoded": decode(ids) (skip_special_tokens=True)}
Texts whose bytes are malformed UTF-8 are given to the library as Python decodes them with
errors="replace" (one U+FFFD per maximal malformed subpart).

The tokenizers (each a file as its kind ships; the byte-level ones trained with BpeTrainer on the
first 300 kB of Emma and the short texts):
  llama3        Llama 3's pre-tokenizer (Split with its regex + ByteLevel), ignore_merges (and words
                in the vocabulary that only it finds), its special tokens after the vocabulary,
                <|begin_of_text|> added by TemplateProcessing
  qwen2         made by transformers' Qwen2TokenizerFast from the trained vocab.json + merges.txt
                (Qwen2Converter: NFC, Split with Qwen2's regex, ByteLevel), with Qwen2's special tokens
  gpt2          ByteLevel with its own regex and add_prefix_space (GPT-2 / RoBERTa), an NFKC
                normalizer, and added tokens with every flag (lstrip, rstrip, single_word, normalized)
  llama2        transformers' LlamaTokenizerFast converted from LLaMA-2's tokenizer.model (legacy,
                add_prefix_space: Prepend + Replace normalizer, byte fallback, Strip decoder): the
                form of LLaMA-2's own tokenizer.json
  llama2_metaspace   the same with legacy=False (Metaspace pre-tokenizer, prepend_scheme "first")
  stories260k   LlamaTokenizerFast from stories260K's tokenizer.model, for the CLI tests
  seed_*        the hand-written seeds of the tokenizer_json fuzz target (fuzz/corpus/tokenizer_json):
                a Metaspace decoder, Metaspace splitting, an NFC byte-level BPE with an lstrip token
"""
import json
import os
import random
import re
import shutil
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import LlamaTokenizerFast, PreTrainedTokenizerFast, Qwen2TokenizerFast

LLAMA3_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")
VOCAB_SIZE = 3000
# GPT-2's bytes_to_unicode(): the character that stands for each byte in byte-level vocabularies.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
BYTE_CHARS = {b: chr(b) for b in _PRINTABLE}
BYTE_CHARS.update({b: chr(256 + i) for i, b in enumerate(b for b in range(256) if b not in BYTE_CHARS)})


def austen(data, name):
    with open(os.path.join(data, "austen", name), encoding="utf-8") as f:
        return f.read()


def chapter(text, first, second):
    """The text from the heading `first` up to the heading `second`."""
    begin = text.index(first)
    return text[begin:text.index(second, begin)]


def texts_to_encode(data):
    """(name, bytes) pairs: the 46 reference texts (llama2-tokenizer-vectors.inp), a chapter of
    Austen, hand-picked hard cases, and random mixtures of the short ones."""
    texts = []
    with open(os.path.join(data, "tests", "llama2-tokenizer-vectors.inp"), encoding="utf-8") as f:
        references = f.read().split("\n__ggml_vocab_test__\n")[:-1]
    texts += [(f"reference {i}", t.encode()) for i, t in enumerate(references)]
    persuasion = austen(data, "persuasion.txt")
    texts.append(("Persuasion, chapter 1", chapter(persuasion, "Chapter 1", "Chapter 2").encode()))
    hard = [
        "Digits 0 12 345 6789 1234567890 3.14159 ١٢٣٤٥ １２３ ²³ Ⅻ",
        "日本語のテキストと中文文本，한국어 텍스트。",
        "Emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇬🇧 ✅ ❤️ 🤗",
        "Combining: e\u0301 vs é, a\u0308 vs ä, Hangul \u1100\u1161\u11a8 vs 각, \u212b vs Å, ﬁ ligature",
        "Newlines\n\nand\ttabs\t\t and   runs of spaces    \r\n\r\nend  ",
        "I'M SURE THEY'RE RIGHT, YOU'LL SEE; WE'VE SAID IT'S HIS'N, I'D SAY. don't can't won't 'tis",
        "Long s: it'ſ, THEIR'ſ; apostrophes ’curly’ and 'straight'",
        "Unicode spaces:\u00a0a\u2000b\u2028c\u2029d\u3000e\u0085f\u000bg\u000ch\u200bi",
        "Special strings: <s> </s> <unk> <|begin_of_text|>x<|end_of_text|> <|endoftext|><|im_start|>user<|im_end|>",
        "Flags: <mask> [END]   next Highbury, Highburyx and xHighbury; fish ﬁsh <mask>   tail",
        "Control \x00\x01\x7f and private use \ue000 and noncharacter \ufdd0 and \U0010fffd",
        "",
        " ",
        "\n",
        "   leading and trailing   ",
    ]
    texts += [(f"hard {i}", t.encode()) for i, t in enumerate(hard)]
    texts += [
        ("malformed 0", b"bad \xff bytes \xe2\x82 cut \xf0\x9f\x98 end"),
        ("malformed 1", b"\xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big \x80"),
    ]
    pool = [t.encode() for t in references] + [h.encode() for h in hard]
    pieces = [p for t in pool for p in re.split(rb"(\s+)", t) if p] + [
        b"'s", b"'S", b"'LL", b"'\xc5\xbf", b"\r\n", b"\t", b"\xe2\x80\x83", b"\xcc\x81", b"\xe0\xa5\x8d",
        b"\xff", b"\xe2\x82", b"<s>", b"</s>", b"<|im_end|>", b"<mask>", b"[END]", b"Highbury", b"123456"]
    rng = random.Random(12)
    for i in range(150):
        texts.append((f"random {i}", b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))))
    return texts


def train_byte_level(corpus, normalizer, pre_tokenizer):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator([corpus], trainer=trainer)
    return tokenizer


def llama3(corpus, out):
    tokenizer = train_byte_level(corpus, None, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]))
    # As in Llama 3's file: ignore_merges, and words in the vocabulary that merges do not make
    # (only ignore_merges finds them).
    document = json.loads(tokenizer.to_str())
    document["model"]["ignore_merges"] = True
    vocab = document["model"]["vocab"]
    for word in (" Elliot", " Kellynch", " baronetage", "Persuasion"):
        vocab.setdefault("".join(BYTE_CHARS[b] for b in word.encode()), len(vocab))
    tokenizer = Tokenizer.from_str(json.dumps(document))
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"]
    tokenizer.add_special_tokens(specials)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tokenizer.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|begin_of_text|>",
                            eos_token="<|end_of_text|>").save_pretrained(out)


def qwen2(corpus, out):
    tokenizer = train_byte_level(corpus, normalizers.NFC(), pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]))
    tokenizer.model.save(out)  # vocab.json + merges.txt, the files Qwen2's slow tokenizer reads
    fast = Qwen2TokenizerFast(vocab_file=os.path.join(out, "vocab.json"), merges_file=os.path.join(out, "merges.txt"),
                              unk_token=None, bos_token=None, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                              from_slow=True)
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    fast.save_pretrained(out)
    for name in ("vocab.json", "merges.txt"):
        os.remove(os.path.join(out, name))


def gpt2(corpus, out):
    tokenizer = train_byte_level(corpus, normalizers.NFKC(), pre_tokenizers.ByteLevel(add_prefix_space=True))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False),
                                  AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tokenizer.add_tokens([AddedToken("[END]", rstrip=True, normalized=False),
                          AddedToken("Highbury", single_word=True, normalized=True),
                          AddedToken("ﬁsh", normalized=True)])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>").save_pretrained(out)


def llama_converted(model_file, out, legacy):
    fast = LlamaTokenizerFast(vocab_file=model_file, legacy=legacy, add_prefix_space=True, from_slow=True)
    fast.save_pretrained(out)
    if os.path.exists(os.path.join(out, "tokenizer.model")):
        os.remove(os.path.join(out, "tokenizer.model"))  # a tokenizer.json-only directory


def record(out, texts):
    tokenizer = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    expected = {"ids": [], "with_special": [], "decoded": []}
    for _, data in texts:
        text = data.decode("utf-8", errors="replace")
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        expected["ids"].append(ids)
        expected["with_special"].append(tokenizer.encode(text).ids)
        expected["decoded"].append(tokenizer.decode(ids))
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False)


def main():
    out_dir, data = sys.argv[1], sys.argv[2]
    texts = texts_to_encode(data)
    with open(os.path.join(out_dir, "texts.json"), "w") as f:
        json.dump({"names": [n for n, _ in texts], "texts": [t.hex() for _, t in texts]}, f)
    # Part of Emma, and the short test texts several times over, so that the vocabularies merge
    # digits, whitespace runs, CJK and emoji too and the ids show how the pre-tokenizers cut those.
    # The chapter of Persuasion stays unseen.
    short_texts = [t.decode("utf-8", errors="replace") for n, t in texts if not n.startswith("Persuasion")]
    test_texts = "\n".join(short_texts)
    corpus = austen(data, "emma.txt")[:300000] + test_texts * 8
    llama2 = os.path.join(data, "llama2-tokenizer.model")
    stories260k = os.path.join(data, "stories260K-hf", "tokenizer.model")
    builders = {
        "llama3": lambda out: llama3(corpus, out),
        "qwen2": lambda out: qwen2(corpus, out),
        "gpt2": lambda out: gpt2(corpus, out),
        "llama2": lambda out: llama_converted(llama2, out, legacy=True),
        "llama2_metaspace": lambda out: llama_converted(llama2, out, legacy=False),
        "stories260k": lambda out: llama_converted(stories260k, out, legacy=True),
    }
    seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus", "tokenizer_json")
    for seed in sorted(os.listdir(seeds)):
        builders["seed_" + seed[:-len(".json")]] = \
            lambda out, seed=seed: shutil.copyfile(os.path.join(seeds, seed), os.path.join(out, "tokenizer.json"))
    for name, build in builders.items():
        out = os.path.join(out_dir, name)
        os.makedirs(out, exist_ok=True)
        build(out)
        record(out, texts)


if __name__ == "__main__":
    main()
