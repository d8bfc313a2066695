#include "text/prompt_template.h"

namespace ll {

// Verbatim from LongLoRA's PROMPT_DICT (note the two spaces after "being safe.").
const std::string_view kLlama2SystemPrompt =
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being "
    "safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal "
    "content. Please ensure that your responses are socially unbiased and positive in nature.\n\n"
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
    "something not correct. If you don't know the answer to a question, please don't share false information.\n";

std::string llama2_prompt(std::string_view instruction) {
  std::string prompt = "[INST]";
  prompt += instruction;
  prompt += "[/INST]";
  return prompt;
}

std::string llama2_prompt_with_input(std::string_view instruction, std::string_view input) {
  std::string prompt = "[INST] <<SYS>>\n";
  prompt += kLlama2SystemPrompt;
  prompt += "<</SYS>> \n\n ";
  prompt += instruction;
  prompt += " \n";
  prompt += input;
  prompt += " [/INST]";
  return prompt;
}

std::string sft_prompt(std::string_view instruction, std::string_view input) {
  return input.empty() ? llama2_prompt(instruction) : llama2_prompt_with_input(instruction, input);
}

std::string question_prompt(std::string_view material, std::string_view question) {
  std::string instruction(material);
  instruction += '\n';
  instruction += question;
  return llama2_prompt(instruction);
}

}  // namespace ll
