// longlora demo: the embedded end-to-end default (demo/pipeline.h).
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "demo/pipeline.h"

namespace ll::cli {

int run_demo(int argc, char** argv) {
  Args args("demo",
            "Reproduce LongLoRA's claims at small scale: pre-train a small LLaMA on the King James Bible, extend its "
            "context 8x five ways, evaluate, and write OUT/report.md + OUT/perplexity.svg. Cached: reruns are fast.");
  args.option("--out", "demo-out", "output directory", "DIR")
      .flag("--quick", "a smoke test: a smaller model and budget, one seed; its findings are not meaningful")
      .option("--seeds", "0", "training seeds per extension run (0 = 3, or 1 with --quick)", "N")
      .option("--extend-steps", "0", "steps of each context-extension run (0 = the demo's budget)", "N")
      .option("--lora-lr", "0", "learning rate of the LoRA runs (b)-(d) (0 = the demo's, 2e-3)", "LR")
      .option("--scale", "1", "multiply the step counts and evaluation windows (e.g. 0.1 for a smoke test)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  demo::DemoOptions o;
  o.out_dir = args.str("--out");
  o.quick = args.enabled("--quick");
  o.scale = args.number("--scale");
  o.threads = static_cast<int>(args.integer("--threads"));
  const long long seeds = args.integer("--seeds");
  if (seeds < 0) fail_expected("longlora demo", "--seeds", "a count ≥ 0", args.str("--seeds"));
  o.seeds = static_cast<int>(seeds);
  o.extend_steps = args.integer("--extend-steps");
  if (o.extend_steps < 0) fail_expected("longlora demo", "--extend-steps", "a count ≥ 0", args.str("--extend-steps"));
  o.lora_lr = args.number("--lora-lr");
  if (!(o.lora_lr >= 0)) fail_expected("longlora demo", "--lora-lr", "a learning rate ≥ 0", args.str("--lora-lr"));
  if (!(o.scale > 0)) fail_expected("longlora demo", "--scale", "a factor > 0", args.str("--scale"));
  demo::run_demo(o);
  return 0;
}

}  // namespace ll::cli
