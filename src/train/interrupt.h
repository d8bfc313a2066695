// Ctrl-C during training. While an InterruptHandler lives, the first SIGINT or SIGTERM only sets a
// flag: the trainer finishes the update in progress, saves a checkpoint and returns, and the run
// can be continued with --resume. A second one ends the process at once (status 130); that loses
// at most the update in progress, since checkpoints and outputs are written under temporary names
// and renamed into place (a killed write leaves only a temporary that nothing reads).
//
// Under mpirun, Ctrl-C reaches every rank as a signal: they finish the update together (the trainer
// asks whether any rank was interrupted) and rank 0 saves the checkpoint. mpirun also signals the
// ranks when one of them has died; then the update cannot finish and mpirun ends them, so the
// message says that the checkpoint is saved only if every rank is still running.
#pragma once

namespace ll {

class InterruptHandler {
 public:
  InterruptHandler();   // installs the handlers (one handler object at a time)
  ~InterruptHandler();  // restores the previous ones
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;
};

// True once a SIGINT or SIGTERM arrived under an InterruptHandler.
bool interrupt_requested();

}  // namespace ll
