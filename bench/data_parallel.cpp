// Data parallelism over MPI (issue 15): the reference step on R ranks × 1 thread against one process ×
// R threads with the same rows per update (R rows: batch R in one process, one row per rank), and the
// bytes each rank all-reduces per update (measured by the communicator; a ring all-reduce sends and
// receives 2·(R−1)/R of that over the network). Efficiency = the ranks' tokens/s ÷ the process's.
//
// usage: bench_data_parallel [--preset ref|demo-long|stories] [--context N] [--ranks R] [--steps N]
//                            [--omp-wait-policy passive|active]
// It launches itself under mpirun (LL_MPIEXEC, with --oversubscribe --bind-to none) for the ranks'
// half; timings mean something only on an otherwise idle machine.
#include <cstdio>
#include <map>
#include <string>

#include "dist/communicator.h"
#include "train_bench.h"

using namespace bench;

namespace {

void print_figures(const Figures& f) {
  for (const auto& [key, value] : f) std::printf("%s %.17g\n", key.c_str(), value);
}

Figures parse_figures(const std::string& text) {
  Figures f;
  char key[128];
  double value;
  for (const char* p = text.c_str(); p && *p; p = std::strchr(p, '\n') ? std::strchr(p, '\n') + 1 : nullptr)
    if (std::sscanf(p, "%127s %lf", key, &value) == 2) f[key] = value;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i] + 2] = argv[i + 1];
  apply_wait_policy(argv, flags["omp-wait-policy"]);
  auto flag = [&](const char* name, const std::string& fallback) { return flags.count(name) ? flags[name] : fallback; };
  Setup s = preset(flag("preset", "ref"));
  s.context = std::stoll(flag("context", std::to_string(s.context)));
  const int ranks = std::stoi(flag("ranks", "2"));
  const int64_t steps = std::stoll(flag("steps", "3"));

  Communicator& comm = world();
  if (comm.ranks() > 1) {  // one rank of the distributed half: rank 0 reports
    s.threads = 1;
    s.batch = 1;
    const Figures f = run_longlora(s, /*checkpointing=*/true, steps, /*warmup=*/1, /*trailing=*/false, comm);
    if (comm.is_root()) print_figures(f);
    finish_world();
    return 0;
  }
#ifndef LL_MPIEXEC
  std::printf("bench_data_parallel: this build has no MPI (scripts/install-deps.sh installs Open MPI)\n");
  return 0;
#else
  std::printf("data parallel, preset %s, context %lld, %d rows per update, %lld timed updates, OMP_WAIT_POLICY %s\n",
              s.preset.c_str(), static_cast<long long>(s.context), ranks, static_cast<long long>(steps),
              wait_policy().c_str());
  s.threads = ranks;
  s.batch = ranks;
  const Figures one = in_child([&] { return run_longlora(s, true, steps, 1, false); });

  std::string cmd = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '" + std::string(LL_MPIEXEC) +
                    "' --oversubscribe --bind-to none -np " + std::to_string(ranks) + " /proc/" +
                    std::to_string(::getpid()) + "/exe";
  for (int i = 1; i < argc; ++i) cmd += std::string(" '") + argv[i] + "'";
  std::fflush(stdout);
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; p && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  if (p) ::pclose(p);
  const Figures many = parse_figures(out);
  if (!many.count("tokens_per_s")) {
    std::printf("the ranks' run failed:\n%s\n", out.c_str());
    return 1;
  }
  const double payload = many.at("collective_bytes");
  std::printf("%-26s %12s %12s %12s\n", "", "tokens/s", "step s", "peak MiB");
  std::printf("%-26s %12.1f %12.3f %12.1f\n", ("1 process x " + std::to_string(ranks) + " threads").c_str(),
              one.at("tokens_per_s"), one.at("step_s"), one.at("peak_rss") / 1048576.0);
  std::printf("%-26s %12.1f %12.3f %12.1f  (rank 0)\n", (std::to_string(ranks) + " ranks x 1 thread").c_str(),
              many.at("tokens_per_s"), many.at("step_s"), many.at("peak_rss") / 1048576.0);
  std::printf("efficiency %.2f; all-reduced per update and rank: %.0f bytes (the f32 gradients of %.0f trainable "
              "values, padded, and 40 bytes of statistics); a ring all-reduce sends and receives %.0f bytes\n",
              many.at("tokens_per_s") / one.at("tokens_per_s"), payload, many.at("trainable"),
              2.0 * (ranks - 1) / ranks * payload);
  return 0;
#endif
}
