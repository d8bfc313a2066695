// The SFT / question prompt templates, character for character.
#include <gtest/gtest.h>

#include "text/prompt_template.h"

namespace ll::test {
namespace {

TEST(PromptTemplate, NoInputIsTheBareInstTemplate) {
  EXPECT_EQ(llama2_prompt("Summarise the book."), "[INST]Summarise the book.[/INST]");
  EXPECT_EQ(sft_prompt("Summarise the book.", ""), "[INST]Summarise the book.[/INST]");
  // Braces in the text are text (Python's format_map does not re-expand substituted values).
  EXPECT_EQ(llama2_prompt("{input}"), "[INST]{input}[/INST]");
}

TEST(PromptTemplate, WithInputHasTheSystemPrompt) {
  const std::string expected =
      "[INST] <<SYS>>\n"
      "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being "
      "safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal "
      "content. Please ensure that your responses are socially unbiased and positive in nature.\n\n"
      "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
      "something not correct. If you don't know the answer to a question, please don't share false information.\n"
      "<</SYS>> \n\n Translate. \nBonjour [/INST]";
  EXPECT_EQ(sft_prompt("Translate.", "Bonjour"), expected);
  EXPECT_EQ(llama2_prompt_with_input("Translate.", "Bonjour"), expected);
}

TEST(PromptTemplate, QuestionAboutMaterial) {
  EXPECT_EQ(question_prompt("Once upon a time.", "Who?"), "[INST]Once upon a time.\nWho?[/INST]");
}

}  // namespace
}  // namespace ll::test
