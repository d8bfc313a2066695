#include "train/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>

#include "core/error.h"
#include "dist/communicator.h"

namespace ll {

namespace {

volatile std::sig_atomic_t g_interrupts = 0;
bool g_installed = false;
const char* g_first_message = "";  // chosen when the handler is installed
struct sigaction g_previous_int, g_previous_term;

void write_stderr(const char* text) {
  size_t n = 0;
  while (text[n]) ++n;
  [[maybe_unused]] const ssize_t ignored = ::write(2, text, n);
}

// Only async-signal-safe calls here: write and _exit.
void on_signal(int) {
  if (g_interrupts == 0) {
    g_interrupts = 1;
    write_stderr(g_first_message);
    return;
  }
  write_stderr("\nlonglora train: interrupted twice: quitting without saving the current update\n");
  ::_exit(130);
}

}  // namespace

InterruptHandler::InterruptHandler() {
  LL_CHECK(!g_installed);
  g_interrupts = 0;
  const Communicator& comm = world_if_started();
  g_first_message = comm.ranks() == 1 ? "\nlonglora train: interrupted: saving a checkpoint after the current update "
                                        "(interrupt again to quit at once)\n"
                    : comm.is_root()  ? "\nlonglora train: signalled (Ctrl-C, or mpirun ending the job because a rank "
                                        "failed): saving a checkpoint after the current update if every rank is still "
                                        "running\n"
                                      : "";  // rank 0 says it
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress carry on
  ::sigaction(SIGINT, &action, &g_previous_int);
  ::sigaction(SIGTERM, &action, &g_previous_term);
  g_installed = true;
}

InterruptHandler::~InterruptHandler() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  g_installed = false;
}

bool interrupt_requested() { return g_interrupts != 0; }

}  // namespace ll
