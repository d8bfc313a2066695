// Prompt templates of LongLoRA's released chat models ("llama2 prompting", LongLoRA since
// 2023-11-02), as its supervised-fine-tune.py (PROMPT_DICT, used for SFT) and inference.py (used
// by `generate --question`) build them. The text goes to the tokenizer as is; BOS is added there.
//
//   no input    "[INST]{instruction}[/INST]"                                  (prompt_llama2)
//   with input  "[INST] <<SYS>>\n{system}<</SYS>> \n\n {instruction} \n{input} [/INST]"
//                                                                             (prompt_input_llama2)
//   question    no-input prompt of instruction = material + "\n" + question   (inference.py)
//
// supervised-fine-tune.py takes the with-input form exactly when the example's "input" is present
// and not empty. {system} is Meta's LLaMA-2 default system prompt, ending in "\n".
#pragma once
#include <string>
#include <string_view>

namespace ll {

extern const std::string_view kLlama2SystemPrompt;

// "[INST]{instruction}[/INST]"
std::string llama2_prompt(std::string_view instruction);
// The with-input template above.
std::string llama2_prompt_with_input(std::string_view instruction, std::string_view input);
// The prompt of one SFT example: with input when `input` is not empty, otherwise without.
std::string sft_prompt(std::string_view instruction, std::string_view input);
// inference.py's prompt for a question about a document.
std::string question_prompt(std::string_view material, std::string_view question);

}  // namespace ll
