// The subcommands of the longlora binary. Each cmd_*.cpp defines one run_* function that
// parses its own flags (cli/args.h) and returns the process exit status.
#pragma once
#include <string>

namespace ll::cli {

std::string usage();
int dispatch(const std::string& command, int argc, char** argv);

int run_info(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_train(int argc, char** argv);
int run_sft(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_passkey(int argc, char** argv);
int run_merge(int argc, char** argv);
int run_export(int argc, char** argv);
int run_init(int argc, char** argv);
int run_demo(int argc, char** argv);

}  // namespace ll::cli
