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
      .flag("--quick", "a smaller model and budget (about 5 minutes on 2 cores)")
      .option("--scale", "1", "multiply the step counts and evaluation windows (e.g. 0.1 for a smoke test)", "F")
      .option("--threads", "0", "worker threads (0 = all cores)", "N");
  if (!args.parse(argc, argv)) return 0;
  apply_thread_flag(args);
  demo::DemoOptions o;
  o.out_dir = args.str("--out");
  o.quick = args.enabled("--quick");
  o.scale = args.number("--scale");
  o.threads = static_cast<int>(args.integer("--threads"));
  if (!(o.scale > 0)) fail_expected("longlora demo", "--scale", "a factor > 0", args.str("--scale"));
  demo::run_demo(o);
  return 0;
}

}  // namespace ll::cli
